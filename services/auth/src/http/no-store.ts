/**
 * Cache-Control: no-store on every /auth/* and /admin/* answer (the contract): they carry tokens,
 * account data and session lists that no browser or proxy cache may keep. One onSend hook on the
 * whole app, so error answers (schema 400s, 401s, 429s, 404s for unknown paths) get it too, not
 * only the handlers that remember to set it.
 */
import type { FastifyReply, onSendHookHandler } from 'fastify';

/** Token responses are never cached (RFC 6749 §5.1). */
export function noStore(reply: FastifyReply): void {
  void reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
}

const ACCOUNT_PATH = /^\/(?:auth|admin)(?:[/?]|$)/;

// Callback-style: an async hook costs a promise and a microtask on every response.
export const noStoreOnAccountPaths: onSendHookHandler = (request, reply, payload, done) => {
  if (ACCOUNT_PATH.test(request.url)) noStore(reply);
  done(null, payload);
};
