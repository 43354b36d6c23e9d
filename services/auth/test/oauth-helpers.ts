/**
 * OAuth test helpers: the auth app listening on a known free port with ISSUER set to its own URL
 * (so discovery from the issuer works), clients registered in-process, and openid-client
 * configurations discovered from the issuer over plain HTTP (allowInsecureRequests, tests only).
 */
import type { Test } from 'tap';
import * as client from 'openid-client';
import { createClient, type ClientSpec } from '../src/oauth/clients.js';
import { PASSWORD, startAuth, type TestAuth } from './helpers.js';

export function startIssuer(t: Test, overrides: Record<string, string> = {}): Promise<TestAuth> {
  return startAuth(t, overrides, { selfIssued: true });
}

export interface RegisteredClient {
  id: string;
  secret: string | undefined;
}

export async function register(auth: TestAuth, spec: Partial<ClientSpec> & { grants: string[] }): Promise<RegisteredClient> {
  const { client: row, secret } = await createClient(auth.ctx.db, { name: 'test client', public: false, redirectUris: [], scopes: [], firstParty: false, introspect: false, ...spec });
  return { id: row.id, secret };
}

/** openid-client discovery from the issuer URL itself (OpenID Connect discovery path by default). */
export async function discover(auth: TestAuth, registered: RegisteredClient, method: 'basic' | 'post' | 'none' = 'basic', algorithm: 'oidc' | 'oauth2' = 'oidc'): Promise<client.Configuration> {
  const clientAuth =
    method === 'none' ? client.None() : method === 'post' ? client.ClientSecretPost(registered.secret) : client.ClientSecretBasic(registered.secret);
  return client.discovery(new URL(auth.base), registered.id, undefined, clientAuth, { execute: [client.allowInsecureRequests], algorithm });
}

/** The OAuth error an openid-client call failed with (RFC 6749 §5.2 body and HTTP status). */
export async function oauthFailure(promise: Promise<unknown>): Promise<{ error: string; status: number; wwwAuthenticate: string | null }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof client.ResponseBodyError) return { error: error.error, status: error.status, wwwAuthenticate: error.response.headers.get('www-authenticate') };
    if (error instanceof client.WWWAuthenticateChallengeError) {
      const body = (await error.response.clone().json()) as { error: string };
      return { error: body.error, status: error.response.status, wwwAuthenticate: error.response.headers.get('www-authenticate') };
    }
    throw error;
  }
  throw new Error('expected the call to fail');
}

export function form(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

export const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

export function basic(id: string, secret: string): Record<string, string> {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return { authorization: `Basic ${Buffer.from(`${encode(id)}:${encode(secret)}`).toString('base64')}` };
}

// The authorization code flow the way a browser drives it: the login page, the form post, the redirect.
export const REDIRECT = 'http://localhost:4000/callback';

export interface LoginForm {
  status: number;
  html: string;
  request: string;
  cookie: string;
  headers: Headers;
}

/** GET the authorization URL like a browser: the login page, its signed field and its cookie. */
export async function openLoginForm(url: URL | string): Promise<LoginForm> {
  const res = await fetch(url, { redirect: 'manual' });
  const html = await res.text();
  const request = /name="request" value="([^"]+)"/.exec(html)?.[1] ?? '';
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('oauth_login='))?.split(';')[0] ?? '';
  return { status: res.status, html, request: request.replace(/&quot;/g, '"').replace(/&amp;/g, '&'), cookie, headers: res.headers };
}

export async function submitLogin(auth: TestAuth, page: Pick<LoginForm, 'request' | 'cookie'>, email: string, password: string): Promise<Response> {
  return fetch(`${auth.base}/oauth/authorize`, {
    method: 'POST',
    redirect: 'manual',
    headers: { ...FORM, ...(page.cookie ? { cookie: page.cookie } : {}) },
    body: form({ email, password, request: page.request }),
  });
}

export interface Started {
  config: client.Configuration;
  verifier: string;
  state: string;
  url: URL;
}

export async function startFlow(auth: TestAuth, registered: RegisteredClient, method: 'basic' | 'none', extra: Record<string, string> = {}): Promise<Started> {
  const config = await discover(auth, registered, method);
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...extra,
  });
  return { config, verifier, state, url };
}

/** The signed field of a consent page ('' when the page is none). */
export function consentField(html: string): string {
  return (/name="consent" value="([^"]+)"/.exec(html)?.[1] ?? '').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
}

/** Posts the consent page's answer like a browser (the form cookie, the signed field, the button). */
export async function submitConsent(auth: TestAuth, cookie: string, consent: string, decision: 'approve' | 'deny', headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${auth.base}/oauth/authorize/consent`, {
    method: 'POST',
    redirect: 'manual',
    headers: { ...FORM, ...(cookie ? { cookie } : {}), ...headers },
    body: form({ consent, decision }),
  });
}

/**
 * Log in through the form (and approve the consent page when a third-party client shows one) and
 * return the URL the browser lands on at the client.
 */
export async function authorize(auth: TestAuth, flow: Started, email: string, password = PASSWORD): Promise<URL> {
  const page = await openLoginForm(flow.url);
  if (page.status !== 200) throw new Error(`login page answered ${page.status}`);
  let res = await submitLogin(auth, page, email, password);
  if (res.status === 200) {
    const consent = consentField(await res.text());
    if (consent === '') throw new Error('login answered 200 without a consent page');
    res = await submitConsent(auth, page.cookie, consent, 'approve');
  }
  if (res.status !== 303) throw new Error(`login answered ${res.status}: ${await res.text()}`);
  return new URL(res.headers.get('location')!);
}
