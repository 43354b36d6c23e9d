/**
 * GET /internal/revocations: every revocation that can still matter, read from PostgreSQL (the
 * source of truth), for a gateway that cannot catch up from Redis — one that starts, or is
 * running, while Redis is down. Only gateways may call it: each request must carry a gateway
 * proof under GATEWAY_SECRET (the same check orders and notifications apply, with its replay
 * guard). The gateway never routes /internal, so clients cannot reach it through the front door.
 *
 * Gateways call it at start and about once a second while Redis is unreachable, so the answer
 * comes from a short cache shared by all callers: at most one query per CACHE_MS per instance,
 * whatever the number of gateways. A revocation is thus seen at most CACHE_MS late here.
 *
 * GET /internal/cors-origins: the origins of the redirect URIs of public clients, which the
 * gateway (it has no database) lets call /oauth/token, /oauth/revoke and /oauth/userinfo from a
 * browser. Same caller rule; gateways poll it every CORS_ORIGINS_REFRESH_MS, one query per CACHE_MS.
 *
 * The paths and the answers' schemas are @keygate/internal-api's, which the gateway reads too.
 */
import { revocationMember } from '@keygate/revocation';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { GATEWAY_CALLER_ROLE, gatewayTrust, untrustedRequest } from '@keygate/gateway-trust';
import { INTERNAL_CORS_ORIGINS_PATH, INTERNAL_MAILBOX_PATH, INTERNAL_REVOCATIONS_PATH, type RevocationEntry } from '@keygate/internal-api';
import { CorsOriginsResponse, MailboxResponse, RevocationsResponse } from '@keygate/internal-api/schemas';
import { revocationsStillEnforced } from '../revocations/service.js';
import { mailbox } from '../mail/service.js';
import { ErrorBody } from '../schemas/auth.js';
import type { RouteOptions } from '../http/route-options.js';
import { publicClientOrigins } from './cors-origins.js';

const CACHE_MS = 500;

/** Single flight: concurrent callers share one load, kept CACHE_MS; a failed one is not kept. */
function shortCache<T>(load: () => Promise<T>): () => Promise<T> {
  let cached: { at: number; value: Promise<T> } | undefined;
  return () => {
    const now = Date.now();
    if (cached === undefined || now - cached.at >= CACHE_MS) {
      const entry = { at: now, value: load() };
      cached = entry;
      entry.value.catch(() => {
        if (cached === entry) cached = undefined;
      });
    }
    return cached.value;
  };
}

export const internalRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { ctx }) => {
  // Registered inside this (encapsulated) plugin: the proof check covers /internal/* only.
  await app.register(gatewayTrust, { secret: ctx.config.gatewaySecret });
  // A proof the gateway made for a client's request (had a route table forwarded /internal) names
  // that client's role; only the gateway's own calls name `gateway`.
  app.addHook('preHandler', async (request) => {
    if (request.user.role !== GATEWAY_CALLER_ROLE) {
      request.log.warn({ role: request.user.role }, 'internal route called on behalf of a client');
      throw untrustedRequest();
    }
  });

  // The same list, with the same windows, the re-announcer publishes.
  const current = shortCache(async (): Promise<RevocationEntry[]> => {
    const rows = await revocationsStillEnforced(ctx);
    return rows.map((row) => ({ member: revocationMember(row), until: row.untilMs }));
  });
  const corsOrigins = shortCache(() => publicClientOrigins(ctx.db));

  app.get(INTERNAL_REVOCATIONS_PATH, {
    schema: { hide: true, response: { 200: RevocationsResponse, 401: ErrorBody, 503: ErrorBody } },
  }, async (_request, reply) => {
    const now = Date.now();
    const revocations = (await current()).filter((entry) => entry.until > now);
    return reply.header('cache-control', 'no-store').send({ revocations });
  });

  // Development only: the newest mail in the outbox, for the gateway's /dev/mailbox page. In
  // production the route does not exist (404), whoever calls.
  if (ctx.config.nodeEnv !== 'production') {
    app.get(INTERNAL_MAILBOX_PATH, {
      schema: { hide: true, response: { 200: MailboxResponse, 401: ErrorBody, 503: ErrorBody } },
    }, async (_request, reply) => reply.header('cache-control', 'no-store').send({ messages: await mailbox(ctx.db) }));
  }
  app.get(INTERNAL_CORS_ORIGINS_PATH, {
    schema: { hide: true, response: { 200: CorsOriginsResponse, 401: ErrorBody, 503: ErrorBody } },
  }, async (_request, reply) => reply.header('cache-control', 'no-store').send({ origins: await corsOrigins() }));
};
