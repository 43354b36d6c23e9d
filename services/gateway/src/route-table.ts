/**
 * The gateway's route table: path prefix → upstream, whether a token is required, which roles
 * may pass, which scopes each method needs, whether Authorization travels on. Loaded from
 * GATEWAY_ROUTES (JSON) or GATEWAY_ROUTES_FILE, else the contract's defaults, which are the routes
 * of the services manifest (services.json): each service's routes lead to it. Matching is by
 * whole path segments (`/orders` matches `/orders` and `/orders/…`, never `/ordersX`), longest
 * prefix first, and always on the normalised path (see path.ts), which is also the path forwarded.
 */
import { gatewayUpstreams } from '@keygate/config';
import { KNOWN_SCOPES } from '@keygate/tokens';

export interface RouteSpec {
  prefix: string;
  /** A named upstream (a manifest service, reached at its *_URL setting) or an absolute http(s) URL. */
  upstream: string;
  /** "required": a valid access token is needed; "none": forwarded without identity. */
  auth: 'none' | 'required';
  /** Roles allowed through (only with auth "required"); absent: any role. */
  roles?: readonly string[];
  /**
   * Scopes the token must hold, per method (only with auth "required"): keys are method names or
   * "*" (every method not listed; required, so no method of a scoped route is left open). HEAD
   * uses GET's entry when it has none of its own. Absent: a valid token is enough.
   */
  scopes?: Readonly<Record<string, readonly string[]>>;
  /** Forward the client's Authorization header (the auth service needs it for /auth/me etc.). */
  forwardAuthorization?: boolean;
}

export interface Route {
  prefix: string;
  upstream: string;
  /** Origin of the upstream, e.g. http://127.0.0.1:8082 (no trailing slash). */
  origin: string;
  requireToken: boolean;
  roles: ReadonlySet<string> | undefined;
  /** Method → the scopes it needs, for every method the gateway forwards; undefined: none needed. */
  scopes: ReadonlyMap<string, readonly string[]> | undefined;
  forwardAuthorization: boolean;
}

/** The methods the gateway forwards (the proxy route's list, and what a scoped route resolves). */
export const ROUTED_METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'] as const;


const PREFIX_PATTERN = /^(\/[A-Za-z0-9._~!$&'()*+,;=:@-]+)+$|^\/$/;
const SPEC_KEYS = new Set(['prefix', 'upstream', 'auth', 'roles', 'scopes', 'forwardAuthorization']);
const SCOPE_KEYS = new Set<string>([...ROUTED_METHODS, '*']);

/** Checks a route's `scopes` entry; `where` names the route in the one-line start-up error. */
function parseScopes(value: unknown, where: string): Record<string, string[]> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${where}: scopes must be an object of method → scope list, e.g. {"GET": ["orders:read"], "*": ["orders:write"]}`);
  }
  const out: Record<string, string[]> = {};
  for (const [method, scopes] of Object.entries(value)) {
    if (!SCOPE_KEYS.has(method)) throw new Error(`${where}: scopes has an unknown method ${JSON.stringify(method)} (use ${[...SCOPE_KEYS].join(', ')})`);
    if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((scope) => typeof scope === 'string')) {
      throw new Error(`${where}: scopes.${method} must be a non-empty array of scope names`);
    }
    const unknown = scopes.find((scope: string) => !KNOWN_SCOPES.has(scope));
    if (unknown !== undefined) throw new Error(`${where}: scopes.${method} names ${JSON.stringify(unknown)}, which is not one of ${[...KNOWN_SCOPES].join(', ')}`);
    out[method] = [...new Set(scopes as string[])];
  }
  if (out['*'] === undefined) throw new Error(`${where}: scopes must have a "*" entry for the methods not listed`);
  return out;
}

/** Validates a parsed route list; throws an Error whose message names the problem. */
export function parseRouteSpecs(value: unknown): RouteSpec[] {
  if (!Array.isArray(value) || value.length === 0) throw new Error('must be a non-empty JSON array of routes');
  return value.map((item: unknown, index) => {
    const where = `route ${index}`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new Error(`${where} must be an object`);
    const spec = item as Record<string, unknown>;
    for (const key of Object.keys(spec)) if (!SPEC_KEYS.has(key)) throw new Error(`${where} has an unknown field "${key}"`);
    const prefix = typeof spec.prefix === 'string' && spec.prefix.length > 1 ? spec.prefix.replace(/\/+$/, '') : spec.prefix;
    if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix) || /\/\.\.?(\/|$)/.test(prefix)) {
      throw new Error(`${where}: prefix must be a plain absolute path like "/orders"`);
    }
    // From here on errors name the route by its prefix as well: the line an operator searches for.
    const named = `${where} (${prefix})`;
    if (typeof spec.upstream !== 'string' || spec.upstream === '') throw new Error(`${named}: upstream must be a service name (services.json) or an http(s) URL`);
    if (spec.auth !== 'none' && spec.auth !== 'required') throw new Error(`${named}: auth must be "none" or "required"`);
    if (spec.roles !== undefined) {
      if (!Array.isArray(spec.roles) || spec.roles.length === 0 || !spec.roles.every((role) => typeof role === 'string' && role !== '')) {
        throw new Error(`${named}: roles must be a non-empty array of role names`);
      }
      if (spec.auth !== 'required') throw new Error(`${named}: roles need auth "required"`);
    }
    let scopes: Record<string, string[]> | undefined;
    if (spec.scopes !== undefined) {
      scopes = parseScopes(spec.scopes, named);
      if (spec.auth !== 'required') throw new Error(`${named}: scopes need auth "required"`);
    }
    if (spec.forwardAuthorization !== undefined && typeof spec.forwardAuthorization !== 'boolean') {
      throw new Error(`${named}: forwardAuthorization must be true or false`);
    }
    return {
      prefix,
      upstream: spec.upstream,
      auth: spec.auth,
      ...(spec.roles ? { roles: spec.roles as string[] } : {}),
      ...(scopes ? { scopes } : {}),
      ...(spec.forwardAuthorization === undefined ? {} : { forwardAuthorization: spec.forwardAuthorization }),
    };
  });
}

/**
 * The default route table: every manifest service's routes, with that service as upstream, checked
 * by the same rules as an operator's table, so a bad manifest entry stops start-up naming it.
 */
export function defaultRoutes(): RouteSpec[] {
  const specs = gatewayUpstreams().flatMap((service) => service.routes.map((route) => ({ ...route, upstream: service.name })));
  try {
    return parseRouteSpecs(specs);
  } catch (error) {
    throw new Error(`services manifest: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** Resolves upstream names to origins; throws on an unknown name or a URL with a path. */
export function resolveRoutes(specs: readonly RouteSpec[], upstreams: Readonly<Record<string, string>>): Route[] {
  const seen = new Set<string>();
  const routes = specs.map((spec) => {
    if (seen.has(spec.prefix)) throw new Error(`prefix ${spec.prefix} is listed twice`);
    seen.add(spec.prefix);
    const base = Object.hasOwn(upstreams, spec.upstream) ? upstreams[spec.upstream]! : spec.upstream;
    let url: URL;
    try {
      url = new URL(base);
    } catch {
      throw new Error(`route ${spec.prefix}: upstream "${spec.upstream}" is neither ${Object.keys(upstreams).join(', ')} nor a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`route ${spec.prefix}: upstream must be http(s)`);
    if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.username) {
      throw new Error(`route ${spec.prefix}: upstream must be an origin without path, query or credentials`);
    }
    return {
      prefix: spec.prefix,
      upstream: spec.upstream,
      origin: url.origin,
      requireToken: spec.auth === 'required',
      roles: spec.roles ? new Set(spec.roles) : undefined,
      scopes: spec.scopes ? scopesByMethod(spec.scopes) : undefined,
      forwardAuthorization: spec.forwardAuthorization ?? false,
    };
  });
  return routes.sort((a, b) => b.prefix.length - a.prefix.length);
}

/**
 * Every routed method's scopes, resolved once at start-up (its own entry, HEAD falling back to
 * GET's, then "*"), so a request costs one Map lookup. Frozen: the lists are shared by requests.
 */
function scopesByMethod(scopes: Readonly<Record<string, readonly string[]>>): ReadonlyMap<string, readonly string[]> {
  const byMethod = new Map<string, readonly string[]>();
  for (const method of ROUTED_METHODS) {
    const needed = scopes[method] ?? (method === 'HEAD' ? scopes.GET : undefined) ?? scopes['*'];
    if (needed !== undefined) byMethod.set(method, Object.freeze([...needed]));
  }
  return byMethod;
}

/** The route for a normalised path: the longest prefix that matches whole segments. */
export function matchRoute(routes: readonly Route[], path: string): Route | undefined {
  for (const route of routes) {
    const prefix = route.prefix;
    if (prefix === '/') return route;
    if (path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47)) return route;
  }
  return undefined;
}
