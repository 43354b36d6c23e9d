/**
 * The fastify plugin a service behind the gateway registers: every request (bar health,
 * readiness, metrics and any `publicPaths`) must carry a valid gateway proof, or it gets 401 in
 * the contract's format whatever X-User-* headers it carries. The caller becomes `request.user`:
 * user id, role, and the client and scope its token was granted, all covered by the proof, so a
 * service may authorise on `request.user.scope` (e.g. with @keygate/tokens' scopeSet/hasScopes).
 */
import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';
import { createError } from '@keygate/errors';
import { IDENTITY_HEADERS } from './headers.js';
import { verifyGatewayProof, type ProofFailure } from './proof.js';
import { ReplayGuard } from './replay-guard.js';

export interface GatewayUser {
  id: string;
  role: string;
  /** The OAuth client the token was issued to; '' when the token named none. */
  clientId: string;
  /** The token's scope, space-separated as issued; '' when it was granted none. */
  scope: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller as asserted by the gateway; set on every request that passed the proof check. */
    user: GatewayUser;
  }
}

export const untrustedRequest = createError('unauthorized', 401, 'This service only accepts requests forwarded by the gateway.');

export interface GatewayTrustOptions {
  secret: Buffer;
  windowMs?: number;
  /** Paths (exact, without query) reachable without a proof. /healthz, /readyz, /metrics and /openapi.json always are. */
  publicPaths?: readonly string[];
  /** Called on each rejection, e.g. to count it in a metric. */
  onReject?: (reason: ProofFailure | 'duplicate_header' | 'missing_identity' | 'replayed', request: FastifyRequest) => void;
}

const ALWAYS_PUBLIC = ['/healthz', '/readyz', '/metrics', '/openapi.json'];

/** A header the gateway sets exactly once; anything else (absent, repeated) is untrusted. */
function single(request: FastifyRequest, name: string): string | undefined | null {
  const value = request.headers[name];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return null;
  // Node joins repeated unknown headers with ", ": the raw list tells us if it happened.
  let seen = 0;
  const raw = request.raw.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) seen += 1;
  return seen === 1 ? value : null;
}

export const gatewayTrust = fp<GatewayTrustOptions>(
  async (app, options) => {
    const publicPaths = new Set([...ALWAYS_PUBLIC, ...(options.publicPaths ?? [])]);
    const windowMs = options.windowMs;
    const replayGuard = new ReplayGuard(windowMs);
    app.decorateRequest('user', null as unknown as GatewayUser);
    app.addHook('onRequest', async (request) => {
      const path = request.url.split('?')[0] ?? '';
      if (publicPaths.has(path)) return;
      const reject = (reason: Parameters<NonNullable<GatewayTrustOptions['onReject']>>[0]) => {
        options.onReject?.(reason, request);
        request.log.warn({ reason }, 'request without a valid gateway proof');
        return untrustedRequest();
      };
      const proof = single(request, IDENTITY_HEADERS.proof);
      const userId = single(request, IDENTITY_HEADERS.userId);
      const role = single(request, IDENTITY_HEADERS.role);
      const clientId = single(request, IDENTITY_HEADERS.clientId);
      const scope = single(request, IDENTITY_HEADERS.scope);
      const requestId = single(request, IDENTITY_HEADERS.requestId);
      if (proof === null || userId === null || role === null || clientId === null || scope === null || requestId === null) throw reject('duplicate_header');
      if (!proof) throw reject('missing');
      // Client id and scope may be empty (a token without them), never absent: the gateway always sends both.
      if (!userId || !role || !requestId || clientId === undefined || scope === undefined) throw reject('missing_identity');
      const check = verifyGatewayProof(
        options.secret,
        proof,
        { method: request.method, path: request.url, userId, role, clientId, scope, requestId },
        windowMs === undefined ? {} : { windowMs },
      );
      if (!check.ok) throw reject(check.reason);
      // The same proof twice means a replay: the gateway signs each request once.
      if (!replayGuard.firstUse(proof, check.timestamp)) throw reject('replayed');
      request.user = { id: userId, role, clientId, scope };
    });
  },
  { name: 'keygate-gateway-trust', fastify: '5.x' },
);
