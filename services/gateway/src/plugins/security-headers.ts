/**
 * Security headers, chosen by helmet, in two sets (docs/decisions-gateway.md, "Security headers"):
 *
 * - on every response, proxied ones included, the headers that protect any resource (OWASP's REST
 *   Security Cheat Sheet list): a CSP that lets nothing load or frame, X-Frame-Options DENY to
 *   match it, nosniff, Cross-Origin-Resource-Policy same-origin, Referrer-Policy no-referrer
 *   (honoured on redirects too), and HSTS when the public ISSUER is https (over plain http it
 *   would be ignored at best);
 * - only on documents (a response with a body that is not JSON: HTML pages, the gateway's own or
 *   an upstream's), the headers that act on documents alone: Cross-Origin-Opener-Policy,
 *   Origin-Agent-Cluster, X-DNS-Prefetch-Control, X-Download-Options,
 *   X-Permitted-Cross-Domain-Policies, X-XSS-Protection: 0. On a JSON answer they do nothing, and
 *   each header costs the gateway ~1 % of its CPU per request (bench/analysis.md).
 *
 * An upstream's own value for any of them wins, and no-store goes on the gateway's own error
 * answers. helmet's headers are static for these options, so its middleware runs once at start-up
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
    // frame-ancestors 'none' above is DENY; browsers without CSP level 2 get the same answer.
    xFrameOptions: { action: 'deny' },
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

/** helmet's headers that protect any response; every other one it sets acts on documents alone. */
const EVERY_RESPONSE = new Set(['content-security-policy', 'cross-origin-resource-policy', 'referrer-policy', 'strict-transport-security', 'x-content-type-options', 'x-frame-options']);

interface SecurityHeaderSets {
  everyResponse: Array<[string, string]>;
  documentsOnly: Array<[string, string]>;
}

function securityHeaderSets(https: boolean): SecurityHeaderSets {
  const sets: SecurityHeaderSets = { everyResponse: [], documentsOnly: [] };
  for (const entry of Object.entries(recordHelmetHeaders(https))) (EVERY_RESPONSE.has(entry[0]) ? sets.everyResponse : sets.documentsOnly).push(entry);
  return sets;
}

/** A body a browser might render as a document: any type but JSON (`application/json`, `+json`). */
function isDocumentType(contentType: unknown): boolean {
  if (typeof contentType !== 'string') return false;
  // The common case, a JSON answer as fastify and the services write it, without a lowered copy per request.
  if (contentType.startsWith('application/json')) return false;
  const type = contentType.trimStart().toLowerCase();
  return !type.startsWith('application/json') && !/^[^;]*\+json\s*(;|$)/.test(type);
}

export const securityHeadersPlugin = fp<{ https: boolean }>(
  async (app, options) => {
    const { everyResponse, documentsOnly } = securityHeaderSets(options.https);
    app.addHook('onRequest', (_request, reply, done) => {
      for (const [name, value] of everyResponse) void reply.header(name, value);
      done();
    });
    app.addHook('onSend', (_request, reply, payload, done) => {
      // The gateway's own refusals (401, 403, 404, 429, 502, 503, 504) are answers about this
      // request only; on /auth/* and /admin/* the contract requires no-store on every answer, and
      // no error of ours is worth caching anywhere. An upstream's own Cache-Control is left alone.
      if (reply.statusCode >= 400 && !reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store');
      if (isDocumentType(reply.getHeader('content-type'))) {
        for (const [name, value] of documentsOnly) if (!reply.hasHeader(name)) void reply.header(name, value);
      }
      done(null, payload);
    });
  },
  { name: 'gateway-security-headers', fastify: '5.x' },
);
