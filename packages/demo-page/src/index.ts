/**
 * The demo web page the gateway serves at `/`: plain HTML, one script, one stylesheet, all from
 * this package's assets/ folder, under a Content-Security-Policy that allows nothing but our own
 * files and same-origin API calls. It shows the browser pattern the product is built for: access
 * token in memory only, refresh token in an HttpOnly cookie, silent refresh.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fp from 'fastify-plugin';

const assets = join(dirname(fileURLToPath(import.meta.url)), '..', 'assets');

const FILES = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/demo/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/demo/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
} as const;

export const DEMO_PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

export const demoPage = fp(
  async (app) => {
    for (const [path, { file, type }] of Object.entries(FILES)) {
      // Read once at start: the assets are small and never change while running.
      const body = readFileSync(join(assets, file));
      app.get(path, { schema: { hide: true } as Record<string, unknown> }, async (_request, reply) => {
        void reply
          .header('content-type', type)
          .header('content-security-policy', DEMO_PAGE_CSP)
          .header('cache-control', 'no-cache')
          .header('x-content-type-options', 'nosniff');
        return body;
      });
    }
  },
  { name: 'keygate-demo-page', fastify: '5.x' },
);
