/**
 * Security headers on every response, proxied ones included, chosen by helmet (and no-store on
 * the gateway's own error answers): nosniff,
 * Referrer-Policy no-referrer, HSTS only when the public ISSUER is https (HSTS over plain http
 * would be ignored at best), and a CSP suited to an API (nothing may load or frame).
 *
 * helmet's headers are static for these options, so its middleware runs once at start-up
 * against a recording response, and each request gets the recorded headers as fastify reply
 * headers (a later reply.header, e.g. the demo page's own CSP, still wins). Neither
 * @fastify/helmet (it rebuilt the whole middleware on every request: about a third of the
 * gateway's throughput and tens of MB of heap under load) nor helmet per request (a middleware
 * chain and a raw setHeader each, which also pushes Node's writeHead off its fast path for every
 * other header) is needed for the same bytes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import fp from 'fastify-plugin';
import helmet from 'helmet';

/** Runs helmet's middleware once and returns the headers it set (lower-case names). */
function recordHelmetHeaders(https: boolean): Record<string, string> {
  const middleware = helmet({
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    crossOriginEmbedderPolicy: false,
  });
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
      return recorder;
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let finished = false;
  middleware({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error;
    finished = true;
  });
  // helmet is synchronous today; if a version ever is not, fail loudly rather than send no headers.
  if (!finished || Object.keys(headers).length === 0) throw new Error('helmet did not produce its headers synchronously');
  return headers;
}

export const securityHeadersPlugin = fp<{ https: boolean }>(
  async (app, options) => {
    const headers = Object.entries(recordHelmetHeaders(options.https));
    app.addHook('onRequest', (_request, reply, done) => {
      for (const [name, value] of headers) void reply.header(name, value);
      done();
    });
    // The gateway's own refusals (401, 403, 404, 429, 502, 503, 504) are answers about this
    // request only; on /auth/* and /admin/* the contract requires no-store on every answer, and
    // no error of ours is worth caching anywhere. An upstream's own Cache-Control is left alone.
    app.addHook('onSend', (_request, reply, payload, done) => {
      if (reply.statusCode >= 400 && !reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store');
      done(null, payload);
    });
  },
  { name: 'gateway-security-headers', fastify: '5.x' },
);
