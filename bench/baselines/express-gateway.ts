/**
 * The usual stack, for comparison: what a team typically writes instead of a dedicated gateway.
 * express + jsonwebtoken (RS256 with the issuer's public key in PEM) + http-proxy-middleware,
 * written as their READMEs show, doing the same work as our gateway on a protected route:
 * Bearer token from Authorization, signature/alg/issuer/audience/expiry checked with 30 s skew,
 * every client-sent x-user-* / trust header and Authorization removed, X-User-ID, X-User-Role,
 * X-Request-ID and the gateway proof added, the request forwarded.
 *
 * By default the proxy uses http-proxy-middleware's defaults (no agent, so `Connection: close`
 * to the upstream, as most copies of the README example run). BASELINE_KEEPALIVE=1 gives it a
 * keep-alive agent: the tuned variant, reported beside it so the comparison is not a straw man.
 *
 * Environment: BASELINE_PORT, UPSTREAM_URL, JWT_PUBLIC_KEY_FILE, ISSUER, AUDIENCE,
 * GATEWAY_SECRET (base64), BASELINE_KEEPALIVE.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, type ClientRequest, type IncomingMessage } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import jwt from 'jsonwebtoken';
import { signGatewayProof } from '@keygate/gateway-trust';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const port = Number(env('BASELINE_PORT'));
const upstream = env('UPSTREAM_URL');
const publicKey = readFileSync(env('JWT_PUBLIC_KEY_FILE'), 'utf8');
const issuer = env('ISSUER');
const audience = env('AUDIENCE');
const gatewaySecret = Buffer.from(env('GATEWAY_SECRET'), 'base64');
const keepAlive = process.env.BASELINE_KEEPALIVE === '1';

interface User {
  id: string;
  role: string;
  clientId: string;
  scope: string;
}

type AuthedRequest = IncomingMessage & { user?: User; requestId?: string };

function unauthorized(res: Response, description: string, tokenSent: boolean): void {
  res
    .status(401)
    .set('WWW-Authenticate', tokenSent ? 'Bearer error="invalid_token"' : 'Bearer')
    .json({ error: tokenSent ? 'invalid_token' : 'unauthorized', error_description: description });
}

function authenticate(req: Request, res: Response, next: NextFunction): void {
  const header = req.headers.authorization;
  if (!header || !header.startsWith('Bearer ')) {
    unauthorized(res, 'A bearer token is required.', false);
    return;
  }
  try {
    const claims = jwt.verify(header.slice(7), publicKey, { algorithms: ['RS256'], issuer, audience, clockTolerance: 30 }) as jwt.JwtPayload;
    if (typeof claims.sub !== 'string' || typeof claims.role !== 'string') throw new Error('missing claims');
    const scope = typeof claims.scope === 'string' ? claims.scope : '';
    // The gateway's default for /orders: reads need orders:read, everything else orders:write.
    const needed = req.method === 'GET' || req.method === 'HEAD' ? 'orders:read' : 'orders:write';
    if (!scope.split(' ').includes(needed)) {
      res.status(403).set('WWW-Authenticate', `Bearer error="insufficient_scope", scope="${needed}"`).json({ error: 'insufficient_scope', error_description: 'Missing scope.' });
      return;
    }
    (req as AuthedRequest).user = { id: claims.sub, role: claims.role, clientId: typeof claims.client_id === 'string' ? claims.client_id : '', scope };
    next();
  } catch {
    unauthorized(res, 'The access token is invalid.', true);
  }
}

/** Removes what a client must never be able to assert, whatever its case (Node lower-cases names). */
function stripTrustHeaders(req: Request, _res: Response, next: NextFunction): void {
  for (const name of Object.keys(req.headers)) {
    if (name.startsWith('x-user-') || name === 'x-client-id' || name === 'x-gateway-proof' || name === 'authorization') delete req.headers[name];
  }
  next();
}

function addIdentity(proxyReq: ClientRequest, req: AuthedRequest): void {
  const user = req.user!;
  const requestId = randomUUID();
  proxyReq.setHeader('x-user-id', user.id);
  proxyReq.setHeader('x-user-role', user.role);
  proxyReq.setHeader('x-client-id', user.clientId);
  proxyReq.setHeader('x-user-scope', user.scope);
  proxyReq.setHeader('x-request-id', requestId);
  proxyReq.setHeader(
    'x-gateway-proof',
    signGatewayProof(gatewaySecret, {
      method: proxyReq.method,
      path: proxyReq.path,
      userId: user.id,
      role: user.role,
      clientId: user.clientId,
      scope: user.scope,
      requestId,
    }),
  );
}

const app = express();
app.disable('x-powered-by');

app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});

const proxy = createProxyMiddleware<AuthedRequest>({
  target: upstream,
  changeOrigin: true,
  pathFilter: ['/orders', '/notifications'],
  ...(keepAlive ? { agent: new Agent({ keepAlive: true, maxSockets: 256 }) } : {}),
  on: { proxyReq: addIdentity },
});

app.use(['/orders', '/notifications'], authenticate, stripTrustHeaders);
app.use(proxy);

const server = app.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
