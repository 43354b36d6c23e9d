/**
 * The SPA demo's static server (development only; `pnpm start` listens on SPA_DEMO_PORT, 8090):
 * a single-page app on its own origin, the situation of a front-end team whose app is not served
 * by the gateway. Plain files, no bundler: index.html, one ES module (assets/app.js), a
 * stylesheet, oauth4webapi's browser build straight from node_modules, and /config.json telling
 * the page its issuer and client id. The CSP lets the page load only its own files and talk only
 * to itself and the issuer (the gateway).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';

/** The demo's OAuth client, registered by the stack in development (public, third-party). */
export const SPA_CLIENT = {
  id: 'keygate-spa',
  name: 'keygate SPA demo',
  /** Resource scopes the demo asks for; `openid email` are added when the server offers OIDC. */
  scope: 'orders:read orders:write',
  scopes: ['openid', 'email', 'orders:read', 'orders:write'],
  grants: ['authorization_code', 'refresh_token'],
  redirectPath: '/callback',
  postLogoutPath: '/',
} as const;

export interface SpaDemoOptions {
  /** ISSUER: discovery, sign-in and the API are all reached through it (the gateway). */
  issuer: string;
  clientId?: string;
}

const assets = join(dirname(fileURLToPath(import.meta.url)), '..', 'assets');
const JS = 'text/javascript; charset=utf-8';

export async function buildSpaDemo(options: SpaDemoOptions): Promise<FastifyInstance> {
  const issuerOrigin = new URL(options.issuer).origin;
  const csp = `default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' ${issuerOrigin}; img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'`;
  const config = JSON.stringify({ issuer: options.issuer, client_id: options.clientId ?? SPA_CLIENT.id, scope: SPA_CLIENT.scope });
  const html = readFileSync(join(assets, 'index.html'));
  // Read once at start: the files are small and never change while running.
  const files: Record<string, { body: Buffer | string; type: string }> = {
    '/': { body: html, type: 'text/html; charset=utf-8' },
    // The redirect URI: the same page, which sees ?code= and completes the sign-in.
    [SPA_CLIENT.redirectPath]: { body: html, type: 'text/html; charset=utf-8' },
    '/app.js': { body: readFileSync(join(assets, 'app.js')), type: JS },
    '/app.css': { body: readFileSync(join(assets, 'app.css')), type: 'text/css; charset=utf-8' },
    '/oauth4webapi.js': { body: readFileSync(fileURLToPath(import.meta.resolve('oauth4webapi'))), type: JS },
    '/config.json': { body: config, type: 'application/json; charset=utf-8' },
  };
  const app = Fastify();
  for (const [path, { body, type }] of Object.entries(files)) {
    app.get(path, async (_request, reply) =>
      reply
        .header('content-type', type)
        .header('content-security-policy', csp)
        // The callback URL carries the code: never send it on in a Referer.
        .header('referrer-policy', 'no-referrer')
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'no-cache')
        .send(body),
    );
  }
  return app;
}
