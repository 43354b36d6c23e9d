/**
 * The upstream of every proxy scenario: a bare node:http echo service, like the samples behind
 * the gateway but with no work of its own, so what the gateways add is what gets measured. A
 * request to …/probe is answered with the identity headers it carried (the harness checks them
 * once, to prove the gateway under test really verified and forwarded); every other request with
 * the same small body. It can also serve a JWKS so a gateway can take its keys from here.
 *
 * Environment: ECHO_PORT, ECHO_JWKS_FILE (optional).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const port = Number(process.env.ECHO_PORT ?? 0);
const jwksFile = process.env.ECHO_JWKS_FILE;
const jwks = jwksFile ? readFileSync(jwksFile) : undefined;

const OK = Buffer.from('{"ok":true}');

const one = (value: string | string[] | undefined): string | null => (typeof value === 'string' ? value : null);

const server = createServer((request, response) => {
  const url = request.url ?? '/';
  if (url === '/healthz') {
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    return;
  }
  if (jwks && url === '/.well-known/jwks.json') {
    response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' }).end(jwks);
    return;
  }
  // Drain any body before answering so keep-alive connections stay usable.
  request.resume();
  request.on('end', () => {
    // Timed requests get the same small answer whatever they carry, so no scenario forwards a
    // bigger body than another; only the harness's probes (…/probe) get what the upstream saw.
    if (!url.endsWith('/probe')) {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': OK.length }).end(OK);
      return;
    }
    const body = JSON.stringify({
      method: request.method,
      url,
      userId: one(request.headers['x-user-id']),
      role: one(request.headers['x-user-role']),
      clientId: one(request.headers['x-client-id']),
      scope: one(request.headers['x-user-scope']),
      requestId: one(request.headers['x-request-id']),
      proof: one(request.headers['x-gateway-proof']),
      authorization: request.headers.authorization !== undefined,
    });
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  });
});

server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
