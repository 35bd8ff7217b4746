/**
 * Requests Node's HTTP parser refuses before they reach a handler (a malformed request line or
 * header, headers over the size limit, a request that took too long to arrive) still get an
 * HTTP answer with a Kubernetes `Status` body, like everything else this API refuses, and the
 * connection is closed: after a parse error the rest of its bytes mean nothing.
 */
import type { Duplex } from 'node:stream';
import { failureStatus, type StatusReason } from '../../protocol/kube/index.js';

const REASON_PHRASES: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 413: 'Content Too Large', 431: 'Request Header Fields Too Large' };

function classify(code: string | undefined, maxHeaderBytes: number): { status: number; reason: StatusReason; message: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, reason: 'RequestEntityTooLarge', message: `the request line and headers exceed ${maxHeaderBytes} bytes` };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, reason: 'RequestEntityTooLarge', message: 'the request body has oversized chunk extensions' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, reason: 'Timeout', message: 'the request did not arrive in time' };
    default:
      return { status: 400, reason: 'BadRequest', message: `malformed HTTP request${code ? ` (${code})` : ''}` };
  }
}

/** The `clientError` listener of the local API's server. */
export function answerClientError(error: Error & { code?: string }, socket: Duplex, maxHeaderBytes: number): void {
  const response = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || response?.headersSent) {
    socket.destroy();
    return;
  }
  const { status, reason, message } = classify(error.code, maxHeaderBytes);
  const body = JSON.stringify(failureStatus(status, reason, message));
  socket.end(
    `HTTP/1.1 ${status} ${REASON_PHRASES[status] ?? 'Bad Request'}\r\n` +
      'Content-Type: application/json\r\n' +
      'Cache-Control: no-cache, private\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}
