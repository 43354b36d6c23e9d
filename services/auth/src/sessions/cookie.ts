/**
 * The refresh cookie exactly as the contract says: `refresh_token`, HttpOnly; Secure;
 * SameSite=Strict; Path=/auth; Max-Age = REFRESH_TOKEN_TTL when the login asked to be remembered,
 * otherwise no Max-Age and no Expires (a browser-session cookie). Cleared with the same attributes.
 */
import type {} from '@fastify/cookie';
import type { FastifyReply } from 'fastify';

export const REFRESH_COOKIE = 'refresh_token';
const BASE = { httpOnly: true, secure: true, sameSite: 'strict', path: '/auth' } as const;

/** `maxAgeSeconds` undefined: a session cookie (remember me off); the server-side lifetimes are the same either way. */
export function setRefreshCookie(reply: FastifyReply, token: string, maxAgeSeconds: number | undefined): void {
  void reply.setCookie(REFRESH_COOKIE, token, maxAgeSeconds === undefined ? BASE : { ...BASE, maxAge: maxAgeSeconds });
}

export function clearRefreshCookie(reply: FastifyReply): void {
  void reply.clearCookie(REFRESH_COOKIE, BASE);
}
