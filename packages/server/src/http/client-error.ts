import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { ERROR_STATUS, type ErrorCode } from '@simscope/protocol';
import { RAW_SECURITY_HEADERS } from './security-headers.js';

function answerOf(error: NodeJS.ErrnoException): { status: number; code: ErrorCode; message: string } {
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    return {
      status: ERROR_STATUS.header_too_large,
      code: 'header_too_large',
      message: `the request line and headers exceed the server limit of ${maxHeaderSize} bytes; send long filters in the body (POST …/search)`,
    };
  }
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { status: 408, code: 'bad_request', message: 'the request did not arrive in time' };
  }
  return { status: 400, code: 'bad_request', message: `malformed HTTP request (${error.code ?? 'unknown'})` };
}

/**
 * Answers what Node's HTTP parser refuses before Fastify sees a request (headers too large, malformed
 * requests, timeouts) in the API's error shape, then closes the connection as Node's own handler does.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  // Mid-answer on a kept-alive connection another status line would corrupt the stream: only close it.
  if (socket.writable && socket.bytesWritten === 0) {
    const { status, code, message } = answerOf(error);
    const body = JSON.stringify({ error: { code, message } });
    const headers = {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(body)),
      ...RAW_SECURITY_HEADERS,
      Connection: 'close',
    };
    const head = Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${head}\r\n${body}`);
  }
  socket.destroy();
}
