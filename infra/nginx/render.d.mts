/** Types for render.mjs (imported by the scale-test harness and the agreement test). */
export declare const TEMPLATE_PATH: string;
/** How long nginx leaves out an instance after a failed connection (and so, at most, ignores one that is back). */
export declare const DEFAULT_FAIL_TIMEOUT_SECONDS: number;
/** Services behind the gateways whose internal server resends any method after a connection error (they honour Idempotency-Key). */
export declare const RESENDABLE_SERVICES: ReadonlySet<string>;
/** The services manifest (services.json) this module reads. */
export declare const MANIFEST_PATH: string;
/** A service of the manifest with gateway routes (auth, orders, …). */
export type InternalService = string;
/** Each service an internal server can balance, with the gateway setting that points at it (from the manifest). */
export declare const INTERNAL_SERVICES: Record<InternalService, string>;
export interface InternalServer {
  name: InternalService;
  /** `port` or `host:port` the internal server listens on. */
  listen: string;
  /** `host:port` of every instance of the service. */
  servers: string[];
}
export interface RenderOptions {
  /** `port` or `host:port` the public server listens on. */
  publicListen: string;
  /** `host:port` of every gateway instance. */
  gateways: string[];
  /** One internal server per service behind the gateways; auth is required. */
  internal: InternalServer[];
  /** Absolute path, or `off`; default /dev/stdout. */
  accessLog?: string;
  /** Seconds an instance is left out after a failed connection; default 3. */
  failTimeoutSeconds?: number;
  /** Instances (`host:port`, as listed) to mark `down`: drained before a planned stop. */
  down?: string[];
  /** Template text; default keygate.conf.template beside render.mjs. */
  template?: string;
}
export declare function renderKeygateConf(options: RenderOptions): string;
