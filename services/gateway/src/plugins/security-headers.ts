/**
 * Security headers on every response, proxied ones included, through @fastify/helmet:
 * nosniff, Referrer-Policy no-referrer, HSTS only when the public ISSUER is https (HSTS over
 * plain http would be ignored at best), and a CSP suited to an API (nothing may load or frame).
 */
import fp from 'fastify-plugin';
import helmet from '@fastify/helmet';

export const securityHeadersPlugin = fp<{ https: boolean }>(
  async (app, options) => {
    await app.register(helmet, {
      global: true,
      contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
      referrerPolicy: { policy: 'no-referrer' },
      hsts: options.https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
      crossOriginEmbedderPolicy: false,
    });
  },
  { name: 'gateway-security-headers', fastify: '5.x' },
);
