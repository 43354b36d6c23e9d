/**
 * What a connection gets when Node's HTTP parser refuses its request (the server's `clientError`):
 * the status Node itself would send (431, 413, 408, else 400), but with the contract's JSON body
 * instead of fastify's `{"error":"Bad Request","message":"Client Error"}` or Node's empty one;
 * then the connection is closed, since the parser cannot find where the next request starts.
 * Used as fastify's `clientErrorHandler` and by the operations listener's plain http server.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { toWireError, type AppError } from '@keygate/errors';
import { ServiceKitErrors } from './errors.js';

interface ParserLog {
  debug(object: Record<string, unknown>, message: string): void;
}

function errorFor(code: string | undefined): AppError {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return ServiceKitErrors.headersTooLarge();
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return ServiceKitErrors.chunkExtensionsTooLarge();
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return ServiceKitErrors.requestTimeout();
    default:
      return ServiceKitErrors.malformedRequest();
  }
}

/** The raw HTTP/1.1 response for a refused request: Node's own status, the contract's body. */
function clientErrorResponse(code: string | undefined): string {
  const wire = toWireError(errorFor(code));
  const body = JSON.stringify(wire.body);
  return (
    `HTTP/1.1 ${wire.statusCode} ${STATUS_CODES[wire.statusCode] ?? 'Error'}\r\n` +
    `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    `Cache-Control: no-store\r\nConnection: close\r\n\r\n${body}`
  );
}

/** The `clientError` listener: answers in the contract's format, logs at debug only (scanners send these all day). */
export function answerClientError(error: Error & { code?: string }, socket: Duplex, log: ParserLog): void {
  // The peer is gone: nothing to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  log.debug({ code: error.code }, 'request refused by the HTTP parser');
  // As Node does: only answer when no response has started on this connection, else the error
  // bytes would be spliced into a response the client is already reading.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) socket.write(clientErrorResponse(error.code));
  socket.destroy(error);
}
