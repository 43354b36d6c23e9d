/**
 * The issuer identifier as published in the discovery documents (ISSUER without a trailing slash):
 * the value of `iss` in ID tokens and RFC 9207 redirects, which clients compare byte for byte.
 */
import type { AuthConfig } from '../config.js';

export function issuerId(config: Pick<AuthConfig, 'issuer'>): string {
  return config.issuer.replace(/\/$/, '');
}
