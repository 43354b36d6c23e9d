/**
 * pino options shared by every service: JSON lines, a service name, and redaction of anything
 * that could carry a credential (authorization, cookies, tokens, passwords, secrets).
 */
import { pino, type Logger, type LoggerOptions } from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-gateway-proof"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.current_password',
  '*.new_password',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.client_secret',
  '*.secret',
  'password',
  'token',
  'refresh_token',
  'access_token',
  'client_secret',
];

export function loggerOptions(service: string, level: string, extra: Record<string, unknown> = {}): LoggerOptions {
  return {
    level,
    base: { service, ...extra },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: {
      // Query strings can carry tokens from misbehaving clients: log the path only.
      req(request: { method?: string; url?: string; id?: string; ip?: string }) {
        const url = request.url ?? '';
        const q = url.indexOf('?');
        return { method: request.method, url: q === -1 ? url : url.slice(0, q), id: request.id, ip: request.ip };
      },
    },
  };
}

export function createLogger(service: string, level: string): Logger {
  return pino(loggerOptions(service, level));
}

export type { Logger } from 'pino';
