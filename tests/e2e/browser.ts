/** Headless Chromium for the browser tests (Debian's package, driven by playwright-core), and their screenshots. */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Test } from 'tap';
import { inCi } from '@keygate/testing';
import { startTestStack } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why a browser test cannot run here (no Chromium outside CI), or false. */
export const browserSkip = !existsSync(CHROMIUM) && !inCi ? `Chromium not installed at ${CHROMIUM} (apt-get install chromium)` : false;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Saves a full-page screenshot as test-artifacts/<folder>/<name>.png. */
export async function screenshot(page: Page, folder: string, name: string): Promise<void> {
  const dir = resolve(import.meta.dirname, '../../test-artifacts', folder);
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

/**
 * The whole stack with ISSUER at http://localhost:<port> (the page is opened at the issuer's
 * origin: cookie-authenticated calls are checked against it) and a browser, both closed at the
 * end of `t`.
 */
export async function startBrowserStack(t: Test, overrides: Record<string, string> = {}): Promise<{ origin: string; browser: Browser }> {
  const { stack, environment } = await startTestStack({ issuerHost: 'localhost', overrides });
  const browser = await launchChromium().catch(async (error: unknown) => {
    await stack.close();
    await environment.cleanup();
    throw error;
  });
  t.teardown(async () => {
    await browser.close();
    await stack.close();
    await environment.cleanup();
  });
  return { origin: environment.gatewayUrl, browser };
}
