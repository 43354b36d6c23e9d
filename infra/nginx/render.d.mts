/** Types for render.mjs (imported by the scale-test harness and the agreement test). */
export declare const TEMPLATE_PATH: string;
/** How long nginx leaves out an instance after a failed connection (and so, at most, ignores one that is back). */
export declare const DEFAULT_FAIL_TIMEOUT_SECONDS: number;
export interface RenderOptions {
  /** `port` or `host:port` the public server listens on. */
  publicListen: string;
  /** `port` or `host:port` of the internal server the gateways' AUTH_URL points at. */
  authListen: string;
  /** `host:port` of every gateway instance. */
  gateways: string[];
  /** `host:port` of every auth instance. */
  auths: string[];
  /** Absolute path, or `off`; default /dev/stdout. */
  accessLog?: string;
  /** Seconds an instance is left out after a failed connection; default 3. */
  failTimeoutSeconds?: number;
  /** Template text; default keygate.conf.template beside render.mjs. */
  template?: string;
}
export declare function renderKeygateConf(options: RenderOptions): string;
