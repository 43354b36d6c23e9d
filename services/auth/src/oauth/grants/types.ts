/** What every grant handler receives and returns (RFC 6749 §5.1). */
import type { FastifyRequest } from 'fastify';
import type { AuthContext } from '../../context.js';
import type { LoginLimiter } from '../../sessions/login-limiter.js';
import type { OAuthClientRow } from '../../db/schema.js';
import type { TokenParams } from '../../schemas/oauth.js';
import { OAuthErrors } from '../errors.js';

export interface GrantInput {
  ctx: AuthContext;
  client: OAuthClientRow;
  params: TokenParams;
  request: FastifyRequest;
  loginLimiter: LoginLimiter;
}

export interface TokenResponseBody {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token?: string;
  scope?: string;
  /** With scope `openid` (OIDC Core §3.1.3.3). */
  id_token?: string;
}

export type GrantHandler = (input: GrantInput) => Promise<TokenResponseBody>;

/** A parameter the grant requires (RFC 6749 §5.2 invalid_request when missing). */
export function required(params: TokenParams, name: keyof TokenParams): string {
  const value = params[name];
  if (value === undefined || value === '') throw OAuthErrors.invalidRequest(`The ${name} parameter is required.`);
  return value;
}
