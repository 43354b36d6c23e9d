/** What the end-to-end tests share: a whole stack on free ports, and waiting for a condition. */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Test } from 'tap';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createTestEnvironment, freePorts, inCi, type TestEnvironment } from '@keygate/testing';
import { startStack, type RunningStack } from '@keygate/stack';

/**
 * A test environment for the whole stack on four free ports, with ISSUER at the gateway's URL
 * (the gateway's own origin is what cookie-authenticated calls are checked against).
 */
export async function stackEnvironment(options: { issuerHost?: string; overrides?: Record<string, string> } = {}): Promise<TestEnvironment & { gatewayUrl: string }> {
  const [gateway, auth, orders, notifications] = (await freePorts(4)) as [number, number, number, number];
  const gatewayUrl = `http://${options.issuerHost ?? '127.0.0.1'}:${gateway}`;
  const environment = await createTestEnvironment({
    GATEWAY_PORT: String(gateway),
    AUTH_PORT: String(auth),
    ORDERS_PORT: String(orders),
    NOTIFICATIONS_PORT: String(notifications),
    ISSUER: gatewayUrl,
    ...options.overrides,
  });
  return { ...environment, gatewayUrl };
}

/**
 * A free port can be taken between being chosen and being bound (the kernel also hands ports of
 * that range to outgoing connections, e.g. a service's own to PostgreSQL): a stack that fails to
 * listen with EADDRINUSE is started again on fresh ports, at most three times in all.
 */
export async function startTestStack(options: Parameters<typeof stackEnvironment>[0] = {}): Promise<{ stack: RunningStack; environment: TestEnvironment & { gatewayUrl: string } }> {
  for (let attempt = 1; ; attempt += 1) {
    const environment = await stackEnvironment(options);
    try {
      return { stack: await startStack(environment.env), environment };
    } catch (error) {
      await environment.cleanup();
      if ((error as { code?: unknown }).code !== 'EADDRINUSE' || attempt === 3) throw error;
    }
  }
}

/** startTestStack, closed (then its environment removed) when `t` ends. */
export async function useTestStack(t: Test, options: Parameters<typeof stackEnvironment>[0] = {}): ReturnType<typeof startTestStack> {
  const started = await startTestStack(options);
  t.teardown(async () => {
    await started.stack.close();
    await started.environment.cleanup();
  });
  return started;
}

/** Polls `check` until it holds; the milliseconds it took, or undefined after `timeoutMs`. */
export async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, stepMs = 25): Promise<number | undefined> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
  return undefined;
}

/** The value of a hidden form field of an HTML page (the sign-in page's `request`, the consent page's `consent`); '' when absent. */
export function formField(html: string, name: string): string {
  return (new RegExp(`name="${name}" value="([^"]+)"`).exec(html)?.[1] ?? '').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
}

/** Debian's Chromium, driven by playwright-core for the demo-page tests (no browser download). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Why a browser test cannot run here (outside CI, where a missing Chromium is a failure), or false. */
export const chromiumSkip: string | false = !existsSync(CHROMIUM) && !inCi ? `Chromium not installed at ${CHROMIUM} (apt-get install chromium)` : false;

/** A headless Chromium and a whole stack at ISSUER `http://localhost:<port>`, both closed when `t` ends. */
export async function startBrowserStack(t: Test, overrides: Record<string, string> = {}): Promise<{ browser: Browser; origin: string }> {
  const { stack, environment } = await startTestStack({ issuerHost: 'localhost', overrides });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  t.teardown(async () => {
    await browser.close();
    await stack.close();
    await environment.cleanup();
  });
  return { browser, origin: environment.gatewayUrl };
}

const artifacts = resolve(import.meta.dirname, '../../test-artifacts/demo');

/** A full-page screenshot in test-artifacts/demo/<name>.png. */
export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

/**
 * A new browser stack (startBrowserStack) and the demo page open in a fresh context, signed out;
 * every URL the page requests is recorded in `requestedUrls` (for "no token in a URL" checks).
 */
export async function openDemoPage(
  t: Test,
  overrides: Record<string, string> = {},
): Promise<{ browser: Browser; origin: string; context: BrowserContext; page: Page; requestedUrls: string[] }> {
  const { browser, origin } = await startBrowserStack(t, overrides);
  const context = await browser.newContext();
  const page = await context.newPage();
  const requestedUrls: string[] = [];
  page.on('request', (request) => requestedUrls.push(request.url()));
  await page.goto(`${origin}/`);
  await page.getByRole('status').filter({ hasText: /^Not signed in\.$/ }).waitFor();
  return { browser, origin, context, page, requestedUrls };
}

/**
 * On the signed-out demo page: asks for a reset link for `email`, then opens it from the
 * development mailbox, up to the "Choose a new password" form. `asked` runs once the page says
 * the link is on its way (a screenshot, say).
 */
export async function openMailedResetLink(page: Page, origin: string, email: string, asked?: () => Promise<void>): Promise<void> {
  await page.getByLabel('Address to send a reset link to').fill(email);
  await page.getByRole('button', { name: 'Send reset link' }).click();
  await page.getByRole('status').filter({ hasText: 'a reset link is on its way' }).waitFor();
  await asked?.();
  // The reset mail is written after the answer (so the answer's timing says nothing about the
  // address): on a loaded machine it can land after the first look, so look again until it is there.
  const resetLink = page.getByRole('link', { name: /#reset_password=/ }).first();
  const deadline = Date.now() + 30_000;
  for (;;) {
    await page.goto(`${origin}/dev/mailbox`);
    if ((await resetLink.count()) > 0 || Date.now() > deadline) break;
    await page.waitForTimeout(250);
  }
  await resetLink.click();
  await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
}
