/**
 * The bus's own coded errors. The bus never talks HTTP, so it only gives callers a stable `code`
 * to branch on (@keygate/errors' CodedError, the base it shares with AppError); the service that
 * catches one decides what the client sees (typically 503 `service_unavailable`).
 */
import { CodedError } from '@keygate/errors';

export type BusErrorCode =
  /** The Bus was closed; the operation was not attempted. */
  | 'ERR_BUS_CLOSED'
  /** The backend did not answer in time or is not connected. */
  | 'ERR_BUS_UNAVAILABLE'
  /** The caller passed something the backend cannot store (e.g. a stream entry without fields). */
  | 'ERR_BUS_INVALID_ARGUMENT';

export class BusError extends CodedError<BusErrorCode> {}

export const busClosed = (): BusError => new BusError('ERR_BUS_CLOSED', 'The bus is closed.');

export const busUnavailable = (message: string, cause?: unknown): BusError =>
  new BusError('ERR_BUS_UNAVAILABLE', message, { cause });

export const invalidArgument = (message: string): BusError => new BusError('ERR_BUS_INVALID_ARGUMENT', message);

/** Shared argument checks, so both implementations reject exactly the same inputs. */
export function assertStreamFields(fields: Record<string, string>): void {
  if (Object.keys(fields).length === 0) throw invalidArgument('A stream entry needs at least one field.');
}

export function assertEpochMs(value: number, name: string): void {
  if (!Number.isFinite(value)) throw invalidArgument(`${name} must be a finite number of epoch milliseconds.`);
}

export function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw invalidArgument(`${name} must be a positive integer.`);
  return value;
}
