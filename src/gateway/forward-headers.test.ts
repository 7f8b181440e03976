import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { downstreamHeaders, upgradeHead, upstreamHeaders } from './forward-headers.js';

function req(headers: Record<string, string | string[]>, rawHeaders: string[] = [], remoteAddress = '::ffff:10.0.0.9'): IncomingMessage {
  return { headers, rawHeaders, method: 'GET', socket: { remoteAddress } } as unknown as IncomingMessage;
}

describe('forwarded headers', () => {
  it('drops hop-by-hop headers, those Connection lists, and Expect; keeps Host; adds X-Forwarded-*', () => {
    const h = upstreamHeaders(
      req({
        host: 'web.service.consul:8080',
        connection: 'keep-alive, X-Secret',
        'keep-alive': 'timeout=5',
        'x-secret': 'drop me',
        te: 'trailers',
        'transfer-encoding': 'chunked',
        expect: '100-continue',
        accept: 'text/plain',
        'set-cookie': ['a=1', 'b=2'],
      }),
      'http',
    );
    expect(h).toEqual({
      host: 'web.service.consul:8080',
      accept: 'text/plain',
      'set-cookie': ['a=1', 'b=2'],
      'x-forwarded-for': '10.0.0.9',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'web.service.consul:8080',
    });
  });

  it('appends the client to an existing X-Forwarded-For', () => {
    expect(upstreamHeaders(req({ 'x-forwarded-for': '1.2.3.4, 5.6.7.8' }), 'http')['x-forwarded-for']).toBe('1.2.3.4, 5.6.7.8, 10.0.0.9');
  });

  it('drops hop-by-hop headers of the answer', () => {
    expect(downstreamHeaders({ connection: 'close', 'transfer-encoding': 'chunked', 'content-type': 'text/plain', 'keep-alive': 'timeout=5' })).toEqual({
      'content-type': 'text/plain',
    });
  });

  it('writes an upgrade request head with the client headers as received plus X-Forwarded-*', () => {
    const head = upgradeHead(
      req({ host: 'h' }, ['Host', 'h', 'Upgrade', 'websocket', 'Connection', 'Upgrade', 'X-Forwarded-For', '1.1.1.1', 'X-Forwarded-Proto', 'https']),
      '/chat?room=1',
      'http',
    );
    expect(head).toBe(
      'GET /chat?room=1 HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Forwarded-For: 1.1.1.1, 10.0.0.9\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: h\r\n\r\n',
    );
  });
});
