/**
 * RFC 8414 metadata. Lists only what this service really serves: the /oauth/* endpoints arrive
 * with issue 7, which adds them to OAUTH_ENDPOINTS (and nothing else) when it registers them.
 */
import type { AuthConfig } from './config.js';

export interface OAuthEndpoints {
  token: boolean;
  revocation: boolean;
  introspection: boolean;
}

/** Which /oauth/* endpoints exist in this build. */
export const OAUTH_ENDPOINTS: OAuthEndpoints = { token: false, revocation: false, introspection: false };

export function oauthMetadata(config: Pick<AuthConfig, 'issuer' | 'signingAlg' | 'passwordGrantEnabled'>, endpoints: OAuthEndpoints = OAUTH_ENDPOINTS): Record<string, unknown> {
  const issuer = config.issuer.replace(/\/$/, '');
  const metadata: Record<string, unknown> = {
    issuer,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    // No authorization endpoint (no redirect flows): RFC 8414 requires the member, so it is empty.
    response_types_supported: [],
  };
  if (endpoints.token) {
    metadata.token_endpoint = `${issuer}/oauth/token`;
    metadata.grant_types_supported = [...(config.passwordGrantEnabled ? ['password'] : []), 'refresh_token', 'client_credentials'];
    metadata.token_endpoint_auth_methods_supported = ['client_secret_basic', 'client_secret_post', 'none'];
  }
  if (endpoints.revocation) metadata.revocation_endpoint = `${issuer}/oauth/revoke`;
  if (endpoints.introspection) metadata.introspection_endpoint = `${issuer}/oauth/introspect`;
  // RFC 9068 access tokens and the algorithm every key in the JWKS uses.
  metadata.access_token_signing_alg_values_supported = [config.signingAlg];
  return metadata;
}
