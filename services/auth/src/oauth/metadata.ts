/**
 * RFC 8414 metadata, which is also the OpenID Connect Discovery 1.0 §3 document (every member it
 * requires and recommends, for the authorization-code flow): one document at both well-known
 * paths, since RFC 8414 §2 registers the OIDC members too and a client reading either must find
 * the same endpoints. Lists only what this service really serves (OAUTH_ENDPOINTS names the
 * /oauth/* endpoints registered by src/oauth/plugin.ts; a test checks each one answers).
 */
import { KNOWN_SCOPES } from '@keygate/tokens';
import type { AuthConfig } from '../config.js';
import { GRANTS, grantEnabled } from './grants/index.js';
import { issuerId } from './issuer.js';

export interface OAuthEndpoints {
  token: boolean;
  revocation: boolean;
  introspection: boolean;
  authorization: boolean;
  /** OIDC: /oauth/userinfo and /oauth/logout (RP-initiated logout). */
  openid: boolean;
}

/** Which /oauth/* endpoints exist in this build. */
export const OAUTH_ENDPOINTS: OAuthEndpoints = { token: true, revocation: true, introspection: true, authorization: true, openid: true };

/** The claims an ID token or userinfo answer may carry (OIDC Core §2, §5.1). */
export const CLAIMS_SUPPORTED = ['iss', 'sub', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'at_hash', 'sid', 'azp', 'email', 'email_verified'];

const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'];

export function oauthMetadata(config: Pick<AuthConfig, 'issuer' | 'signingAlg' | 'passwordGrantEnabled'>, endpoints: OAuthEndpoints = OAUTH_ENDPOINTS): Record<string, unknown> {
  const issuer = issuerId(config);
  const metadata: Record<string, unknown> = {
    issuer,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    // RFC 8414 requires the member; empty when there is no authorization endpoint.
    response_types_supported: endpoints.authorization ? ['code'] : [],
    // The product's catalogue: what any client may be registered with (first-party ones alone get
    // `account` and `admin`). grant_types_supported below is what the server serves, not what
    // one client may use: the registry decides that per client.
    scopes_supported: [...KNOWN_SCOPES],
  };
  if (endpoints.authorization) {
    metadata.authorization_endpoint = `${issuer}/oauth/authorize`;
    metadata.response_modes_supported = ['query'];
    metadata.code_challenge_methods_supported = ['S256'];
    // RFC 9207: the redirect carries `iss`.
    metadata.authorization_response_iss_parameter_supported = true;
  }
  if (endpoints.token) {
    metadata.token_endpoint = `${issuer}/oauth/token`;
    // Read from the grant table, so a grant added there is published here (and one switched off
    // by configuration, or without its endpoint, is not).
    metadata.grant_types_supported = [...GRANTS.keys()]
      .filter((grant) => grantEnabled(grant, config) && (grant !== 'authorization_code' || endpoints.authorization));
    // `none`: public clients (client_id only) for the authorization code, refresh and password grants.
    metadata.token_endpoint_auth_methods_supported = [...CLIENT_AUTH_METHODS, 'none'];
  }
  if (endpoints.revocation) {
    metadata.revocation_endpoint = `${issuer}/oauth/revoke`;
    metadata.revocation_endpoint_auth_methods_supported = [...CLIENT_AUTH_METHODS, 'none'];
  }
  if (endpoints.introspection) {
    metadata.introspection_endpoint = `${issuer}/oauth/introspect`;
    metadata.introspection_endpoint_auth_methods_supported = CLIENT_AUTH_METHODS;
  }
  // RFC 9068 access tokens and the algorithm every key in the JWKS uses.
  metadata.access_token_signing_alg_values_supported = [config.signingAlg];
  if (endpoints.openid && endpoints.authorization) {
    metadata.userinfo_endpoint = `${issuer}/oauth/userinfo`;
    metadata.end_session_endpoint = `${issuer}/oauth/logout`;
    // Every user has one `sub` (their id) for every client.
    metadata.subject_types_supported = ['public'];
    metadata.id_token_signing_alg_values_supported = [config.signingAlg];
    metadata.claims_supported = CLAIMS_SUPPORTED;
    metadata.prompt_values_supported = ['none', 'login', 'consent', 'select_account'];
    // Not offered, and said so (request_uri_parameter_supported defaults to true, §3).
    metadata.claims_parameter_supported = false;
    metadata.request_parameter_supported = false;
    metadata.request_uri_parameter_supported = false;
    metadata.frontchannel_logout_supported = false;
    metadata.backchannel_logout_supported = false;
  }
  return metadata;
}
