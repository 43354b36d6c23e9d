/** `pnpm start`: runs the whole stack in this process and prints where to begin. */
import closeWithGrace from 'close-with-grace';
import { coreSettings, loadSettings } from '@keygate/config';
import { exitOnStartupError } from '@keygate/service-kit';
import { startStack } from './stack.js';

async function main(): Promise<void> {
  const warnings = new Set<string>();
  const stack = await startStack(process.env, (message) => warnings.add(message));
  for (const message of warnings) process.stderr.write(`warning: ${message}\n`);
  const { shutdownTimeoutMs, issuer } = loadSettings(coreSettings, process.env);
  closeWithGrace({ delay: shutdownTimeoutMs }, () => stack.close());

  // Browse through the issuer's origin: cookie-authenticated calls check Origin against it.
  const base = new URL(issuer).port === new URL(stack.gatewayUrl).port ? issuer.replace(/\/$/, '') : stack.gatewayUrl;
  process.stdout.write(
    [
      '',
      `keygate is running (${stack.embeddedDatabase ? `embedded PGlite in ${stack.dataDir}` : 'PostgreSQL'}, ${stack.embeddedBus ? 'in-process bus' : 'Redis'}).`,
      `  gateway        ${stack.gatewayUrl}   <- the one public entry point`,
      ...Object.entries(stack.urls)
        .filter(([name]) => name !== 'gateway')
        .map(([name, url]) => `  ${name.padEnd(15)}${url}`),
      ...(stack.spaDemoUrl === undefined ? [] : [`  spa demo       ${stack.spaDemoUrl}   <- a single-page app on its own origin (OAuth + PKCE, CORS); development only`]),
      `  metrics        ${Object.values(stack.metricsUrls).map((url) => `${url}/metrics`).join('  ')}   <- operations listeners, not public`,
      '',
      'Try first:',
      `  open ${base}/ for the demo page,`,
      ...(stack.spaDemoUrl === undefined ? [] : [`  open ${stack.spaDemoUrl}/ for the SPA demo (sign-in through /oauth/authorize, as a third-party app), or:`]),
      `  curl -s -X POST ${base}/auth/register -H 'content-type: application/json' -d '{"email":"me@example.com","password":"correct horse battery"}'`,
      `  curl -s -X POST ${base}/auth/login -H 'content-type: application/json' -d '{"email":"me@example.com","password":"correct horse battery"}'`,
      `  curl -s ${base}/orders -H "authorization: Bearer <access_token from the login answer>"`,
      '',
    ].join('\n') + '\n',
  );
}

main().catch(exitOnStartupError);
