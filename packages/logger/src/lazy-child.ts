/**
 * A per-request child logger that is only built when something is logged at an enabled level.
 * fastify builds a pino child (bindings serialised, redaction wired) for every request, ~2-3 µs,
 * even though at the production level (`warn` behind a load balancer, or `info` with request
 * logging off) most requests never log a line. On the gateway, that is a few per cent of a
 * request's CPU for nothing. Passed to fastify as `childLoggerFactory`.
 */
import { pino, type Bindings, type ChildLoggerOptions, type Level } from 'pino';

const LEVEL_VALUES = pino.levels.values as Record<string, number>;
const LEVELS: Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

type LogFn = (...args: unknown[]) => void;

/** What is needed of the parent (a pino logger, or fastify's view of one). */
interface ParentLogger {
  level: string;
  child(bindings: Bindings, options?: ChildLoggerOptions): ParentLogger;
}

export class LazyChildLogger {
  private built: ParentLogger | undefined;

  constructor(
    private readonly parent: ParentLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  private get logger(): ParentLogger {
    this.built ??= this.parent.child(this.bindings, this.options);
    return this.built;
  }

  get level(): string {
    return this.built?.level ?? this.options.level ?? this.parent.level;
  }

  set level(level: string) {
    this.logger.level = level;
  }

  isLevelEnabled(level: string): boolean {
    const threshold = LEVEL_VALUES[this.level];
    const value = LEVEL_VALUES[level];
    return threshold !== undefined && value !== undefined && value >= threshold;
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): ParentLogger {
    return this.logger.child(bindings, options);
  }

  silent(): void {}

  declare fatal: LogFn;
  declare error: LogFn;
  declare warn: LogFn;
  declare info: LogFn;
  declare debug: LogFn;
  declare trace: LogFn;
}

for (const level of LEVELS) {
  Object.defineProperty(LazyChildLogger.prototype, level, {
    value(this: LazyChildLogger, ...args: unknown[]) {
      if (!this.isLevelEnabled(level)) return;
      (this as unknown as { logger: Record<Level, LogFn> }).logger[level](...args);
    },
  });
}

/** fastify's `childLoggerFactory`: the request's logger, built on first use. */
export function lazyChildLoggerFactory<L extends ParentLogger>(logger: L, bindings: Bindings, options: ChildLoggerOptions): L {
  return new LazyChildLogger(logger, bindings, options) as unknown as L;
}
