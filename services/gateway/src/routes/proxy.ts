/**
 * The one public route: every request not answered by the gateway itself (/healthz, /readyz, the
 * demo page and /docs, and every OPTIONS — the CORS plugin's; /metrics lives on the operations listener) is normalised, matched against the route table, authenticated when the route says
 * so, rate limited, and forwarded through @fastify/reply-from (undici keep-alive pools, bodies
 * streamed both ways). Errors are the contract's: 400 for unsafe paths, tokens in the query and
 * a malformed Idempotency-Key (a valid one travels on unchanged), 401 with a Bearer challenge,
 * 403 insufficient_scope (a role the route does not allow, or a scope the route needs for this
 * method that the token was not granted), 404 for no route, 502 when the upstream cannot be
 * reached, 504 when it does not answer in time.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema, HookHandlerDoneFunction } from 'fastify';
import replyFrom, { type FastifyReplyFromHooks } from '@fastify/reply-from';
import { IDEMPOTENCY_KEY_HEADER, isIdempotencyKey } from '@keygate/service-kit';
import { TokenError, hasScopes, parseBearer, type AccessTokenClaims } from '@keygate/tokens';
import type { GatewayConfig } from '../config.js';
import { GatewayErrors } from '../errors.js';
import { grantOf, type Grant } from '../grant.js';
import { targetOf } from '../request-target.js';
import { ROUTED_METHODS, matchRoute, type Route } from '../route-table.js';
import { upstreamHeaders } from '../upstream-headers.js';

export interface GatewayRequestState {
  route: Route;
  /** Normalised path, as routed and as forwarded. */
  path: string;
  /** Raw query string without '?', forwarded byte for byte. */
  query: string;
  user: AccessTokenClaims | undefined;
  /** The user's client id and scope, checked against the route and forwarded (set with `user`). */
  grant: Grant | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    gateway: GatewayRequestState | null;
  }
}

function countHeader(rawHeaders: string[], name: string): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const raw = rawHeaders[i]!;
    if (raw.length === name.length && raw.toLowerCase() === name) count += 1;
  }
  return count;
}

function hasTokenInQuery(query: string): boolean {
  if (!query.includes('access') && !query.includes('%')) return false;
  return new URLSearchParams(query).has('access_token');
}

/**
 * Dropped from upstream answers: the connection-level headers describe its connection to us, not
 * ours to the client; CORS is the gateway's alone (plugins/cors.ts), an upstream's would override it.
 */
const UPSTREAM_DROPPED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-expose-headers',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-max-age',
]);

/** OPTIONS is answered by the CORS plugin (204) and never forwarded. */
const PROXIED_METHODS = ROUTED_METHODS.filter((method) => method !== 'OPTIONS');

// A copy rather than `delete`: deleting properties turns the object into a slow dictionary for
// everything that reads it afterwards (fastify copies every header from it). The upstream's Vary
// is merged with the gateway's own (Vary: Origin), which it would otherwise replace.
function upstreamAnswerHeaders(reply: FastifyReply, headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const name in headers) if (!UPSTREAM_DROPPED.has(name)) out[name] = headers[name];
  const own = reply.getHeader('vary');
  if (out.vary !== undefined && own !== undefined) out.vary = `${String(own)}, ${String(out.vary)}`;
  return out;
}

export async function proxyRoutes(app: FastifyInstance, config: GatewayConfig): Promise<void> {
  const { routes, gatewaySecret, bodyLimit, revocationWhenRedisDown } = config;
  const { verifier, rejected } = app.tokens;
  const revocation = app.revocation;

  // Bodies are streamed to the upstream untouched: no parsing, whatever the content type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  await app.register(replyFrom, {
    disableRequestLogging: true,
    undici: {
      connections: config.upstreamConnections,
      pipelining: 1,
      keepAliveTimeout: 10_000,
      // Services hint `Keep-Alive: timeout=72` (fastify's default); idle pooled connections are
      // dropped after 5 s regardless, well inside a stopping instance's drain delay
      // (SHUTDOWN_DRAIN_DELAY_MS), so the gateway never sends on one the instance is closing.
      keepAliveMaxTimeout: 5_000,
      headersTimeout: config.upstreamTimeoutMs,
      bodyTimeout: config.upstreamTimeoutMs,
      connectTimeout: Math.min(config.upstreamTimeoutMs, 10_000),
      // reply-from would otherwise turn certificate checks off for https upstreams.
      connect: { rejectUnauthorized: true },
    },
  });
  app.decorateRequest('gateway', null);

  /** A verifier failure as the contract's answer (and a rejection counted by reason). */
  function refusal(error: unknown): unknown {
    if (!(error instanceof TokenError)) return error;
    rejected(error.code);
    if (error.code === 'jwks_unavailable') return GatewayErrors.serviceUnavailable('The signing keys are not available yet; retry later.');
    return GatewayErrors.invalidToken(error.message);
  }

  /** Revocation, grant, role and scopes of a verified token; then the request is admitted. */
  function authorise(request: FastifyRequest, route: Route, path: string, query: string, user: AccessTokenClaims): void {
    if (!revocation.caughtUp) throw GatewayErrors.serviceUnavailable('The revocation list is not loaded yet; retry later.');
    if (!revocation.live && revocationWhenRedisDown === 'refuse') {
      throw GatewayErrors.serviceUnavailable('Revocation status is unavailable; retry later.');
    }
    if (revocation.list.isRevoked(user, Date.now())) {
      rejected('revoked');
      throw GatewayErrors.invalidToken('The token has been revoked.');
    }
    const grant = grantOf(user);
    if (grant === undefined) {
      rejected('claims_invalid');
      throw GatewayErrors.invalidToken('The token scope or client_id claim is malformed.');
    }
    if (route.roles !== undefined && !route.roles.has(user.role)) throw GatewayErrors.insufficientScope();
    // Resolved per method when the table was loaded: one Map lookup, then usually one Set lookup.
    const needed = route.scopes?.get(request.method);
    if (needed !== undefined && !hasScopes(grant.scopes, needed)) throw GatewayErrors.missingScope(needed);
    request.gateway = { route, path, query, user, grant };
  }

  /**
   * Normalise, route, authenticate, authorise: everything decided before a byte goes upstream.
   * Synchronous unless the token is new to the verifier (then a promise): the hook below calls
   * `done` at once for a known token, with no promise or microtask per request.
   */
  function admit(request: FastifyRequest): Promise<void> | undefined {
    const target = targetOf(request);
    if (!target.ok) throw GatewayErrors.invalidRequest(target.reason);
    const { path, query } = target;
    const route = matchRoute(routes, path);
    if (!route) throw GatewayErrors.notFound(`No route for ${request.method} ${path}.`);
    if (query !== '' && hasTokenInQuery(query)) throw GatewayErrors.tokenInQuery();
    const authorization = request.headers.authorization;
    // Node keeps only the first of repeated Authorization headers: count them on the raw list.
    if (authorization !== undefined && countHeader(request.raw.rawHeaders, 'authorization') > 1) throw GatewayErrors.duplicateAuthorization();
    // Forwarded unchanged (services deduplicate by it, nginx resends by it), so only its shape is ours to check.
    const idempotencyKey = request.headers[IDEMPOTENCY_KEY_HEADER];
    if (idempotencyKey !== undefined && (typeof idempotencyKey !== 'string' || !isIdempotencyKey(idempotencyKey))) throw GatewayErrors.invalidIdempotencyKey();
    const length = request.headers['content-length'];
    if (length !== undefined && Number(length) > bodyLimit) throw GatewayErrors.payloadTooLarge();

    if (!route.requireToken) {
      request.gateway = { route, path, query, user: undefined, grant: undefined };
      return undefined;
    }
    const token = parseBearer(authorization);
    if (token === undefined) throw GatewayErrors.tokenRequired();
    let checked: AccessTokenClaims | Promise<AccessTokenClaims>;
    try {
      // Known tokens are answered synchronously; only a new one waits for verification.
      checked = verifier.check(token);
    } catch (error) {
      throw refusal(error);
    }
    if (!(checked instanceof Promise)) {
      authorise(request, route, path, query, checked);
      return undefined;
    }
    return checked.then(
      (user) => authorise(request, route, path, query, user),
      (error: unknown) => {
        throw refusal(error);
      },
    );
  }

  function admitHook(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
    let pending: Promise<void> | undefined;
    try {
      pending = admit(request);
    } catch (error) {
      return done(error as Error);
    }
    if (pending === undefined) return done();
    pending.then(() => done(), done);
  }

  function onUpstreamError(reply: FastifyReply, error: Error & { statusCode?: number; code?: string; cause?: unknown }): void {
    const cause = error.cause as { code?: string } | undefined;
    reply.request.log.warn({ upstream: reply.request.gateway?.route.upstream, code: cause?.code ?? error.code }, 'upstream request failed');
    void reply.send(error.statusCode === 504 ? GatewayErrors.gatewayTimeout() : GatewayErrors.badGateway());
  }

  // Shared by every request (what differs is read from the request); only rewriteHeaders needs
  // the reply. A literal per request rather than a spread of a shared object: V8 copies a spread
  // of function-valued properties on a slow path (1.5 % of the gateway's CPU in a profile).
  const queryString: FastifyReplyFromHooks['queryString'] = (_search, _url, request) => request.gateway!.query;
  const rewriteRequestHeaders: FastifyReplyFromHooks['rewriteRequestHeaders'] = (raw, headers) => {
    // reply-from's types allow HTTP/2 requests; the gateway serves HTTP/1.1 only.
    const request = raw as FastifyRequest;
    const { route, path, query, user, grant } = request.gateway!;
    return upstreamHeaders(request, headers, route, { user, grant, target: query === '' ? path : `${path}?${query}` }, gatewaySecret);
  };
  const onError: FastifyReplyFromHooks['onError'] = (reply, { error }) => onUpstreamError(reply as FastifyReply, error);
  // Never retry: a gateway must not replay requests (or wait out an upstream's Retry-After).
  const retryDelay = (): null => null;

  app.route({
    method: PROXIED_METHODS,
    url: '/*',
    // Not an API of its own: the routes behind it are documented by their services.
    schema: { hide: true } as FastifySchema,
    config: { rateLimit: {} },
    onRequest: admitHook,
    handler(request, reply) {
      const { route, path } = request.gateway!;
      return reply.from(route.origin + path, {
        queryString,
        rewriteRequestHeaders,
        rewriteHeaders: (headers) => upstreamAnswerHeaders(reply, headers),
        onError,
        retryDelay,
      });
    },
  });
}
