/** What the end-to-end tests share: a whole stack on free ports, and waiting for a condition. */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Test } from 'tap';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createTestEnvironment, freePort, inCi, type TestEnvironment } from '@keygate/testing';
import { startStack, type RunningStack } from '@keygate/stack';

/**
 * A test environment for the whole stack on four free ports, with ISSUER at the gateway's URL
 * (the gateway's own origin is what cookie-authenticated calls are checked against).
 */
export async function stackEnvironment(options: { issuerHost?: string; overrides?: Record<string, string> } = {}): Promise<TestEnvironment & { gatewayUrl: string }> {
  const [gateway, auth, orders, notifications] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
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

export async function startTestStack(options: Parameters<typeof stackEnvironment>[0] = {}): Promise<{ stack: RunningStack; environment: TestEnvironment & { gatewayUrl: string } }> {
  const environment = await stackEnvironment(options);
  try {
    return { stack: await startStack(environment.env), environment };
  } catch (error) {
    await environment.cleanup();
    throw error;
  }
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
