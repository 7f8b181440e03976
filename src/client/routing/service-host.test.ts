import { describe, expect, it } from 'vitest';
import { getHeader, withHost, withoutHeader } from './headers.js';
import { replayableFetchBody, takeReplayBody } from './replay.js';
import { serviceFromHost } from './service-host.js';

/** A one-shot async-iterable body, as fetch hands a dispatcher (an async generator, so it has return()). */
async function* oneShotStream<T>(...chunks: T[]): AsyncGenerator<T> {
  for (const chunk of chunks) yield await Promise.resolve(chunk);
}

describe('serviceFromHost', () => {
  it('reads service names out of hosts', () => {
    expect(serviceFromHost('payments')).toEqual({ name: 'payments', dc: undefined });
    expect(serviceFromHost('Payments.service')).toEqual({ name: 'payments', dc: undefined });
    expect(serviceFromHost('payments.service.consul')).toEqual({ name: 'payments', dc: undefined });
    expect(serviceFromHost('payments.service.eu-1.consul')).toEqual({ name: 'payments', dc: 'eu-1' });
    expect(serviceFromHost('payments.service.beacon', 'beacon')).toEqual({ name: 'payments', dc: undefined });
  });

  it('leaves ordinary hosts alone', () => {
    for (const h of ['localhost', '127.0.0.1', '[::1]', '::1', 'example.com', 'api.example.com', 'payments.service.eu.other', 'a.b.c.d.e', 'bad_host-', '']) {
      expect(serviceFromHost(h)).toBeUndefined();
    }
  });
});

describe('header helpers', () => {
  it('read a header from every shape undici takes', () => {
    expect(getHeader({ 'X-Beacon-Hash-Key': 'u1' }, 'x-beacon-hash-key')).toBe('u1');
    expect(getHeader(['a', '1', 'x-beacon-hash-key', 'u2'], 'x-beacon-hash-key')).toBe('u2');
    expect(getHeader([['x-beacon-hash-key', 'u3']] as unknown as string[], 'x-beacon-hash-key')).toBe('u3');
    expect(getHeader(new Map([['x-beacon-hash-key', 'u4']]) as never, 'x-beacon-hash-key')).toBe('u4');
    expect(getHeader({ 'x-list': ['a', 'b'] }, 'x-list')).toBe('a');
    expect(getHeader(null, 'x')).toBeUndefined();
  });

  it('add a Host header unless there is one', () => {
    expect(withHost(undefined, 'payments')).toEqual({ host: 'payments' });
    expect(withHost({ a: '1' }, 'payments')).toEqual({ host: 'payments', a: '1' });
    expect(withHost({ Host: 'x' }, 'payments')).toEqual({ Host: 'x' });
    expect(withHost(['a', '1'], 'payments')).toEqual(['host', 'payments', 'a', '1']);
    expect(withHost(new Map([['a', '1']]) as never, 'payments')).toEqual(['host', 'payments', 'a', '1']);
  });

  it('remove a header from every shape undici takes, keeping the rest', () => {
    expect(withoutHeader({ 'X-Beacon-Replay-Body': '1', a: '1' }, 'x-beacon-replay-body')).toEqual({ a: '1' });
    expect(withoutHeader(['a', '1', 'x-beacon-replay-body', '2', 'b', '3'], 'x-beacon-replay-body')).toEqual(['a', '1', 'b', '3']);
    expect(
      withoutHeader(
        [
          ['x-beacon-replay-body', '2'],
          ['a', '1'],
        ] as unknown as string[],
        'x-beacon-replay-body',
      ),
    ).toEqual([['a', '1']]);
    expect(
      withoutHeader(
        new Map([
          ['x-beacon-replay-body', '2'],
          ['a', '1'],
        ]) as never,
        'x-beacon-replay-body',
      ),
    ).toEqual(['a', '1']);
    expect(withoutHeader(undefined, 'x')).toBeUndefined();
  });
});

describe('replayable bodies', () => {
  it('copies what can be sent again and refuses streams', () => {
    expect(replayableFetchBody('s')).toBe('s');
    expect(replayableFetchBody(new URLSearchParams({ a: 'b c' }))).toBe('a=b+c');
    const buf = Buffer.from('abc');
    const copy = replayableFetchBody(buf) as Uint8Array;
    buf[0] = 0x7a;
    expect(Buffer.from(copy).toString()).toBe('abc');
    expect(Buffer.from(replayableFetchBody(new Uint8Array([1, 2, 3, 4]).subarray(1, 3)) as Uint8Array)).toEqual(Buffer.from([2, 3]));
    expect(Buffer.from(replayableFetchBody(new TextEncoder().encode('ab').buffer) as Uint8Array).toString()).toBe('ab');
    expect(replayableFetchBody(new ReadableStream())).toBeUndefined();
    expect(replayableFetchBody(new Blob(['x']))).toBeUndefined();
    expect(replayableFetchBody(oneShotStream('x'))).toBeUndefined();
  });

  it('swaps the kept body in for the stream, strips the header, and sends no body where fetch sends none', async () => {
    const stream = oneShotStream(new Uint8Array([1]));
    const bodies = new Map([['7', 'kept']]);
    const out = takeReplayBody({ method: 'PUT', path: '/', body: stream as never, headers: { 'x-beacon-replay-body': '7', a: '1' } }, bodies);
    expect(out.body).toBe('kept');
    expect(out.headers).toEqual({ a: '1' });
    const redirected = takeReplayBody({ method: 'GET', path: '/', body: null, headers: { 'x-beacon-replay-body': '7' } }, bodies);
    expect(redirected.body).toBeNull();
    expect(redirected.headers).toEqual({});
    const plain = { method: 'GET', path: '/', headers: { a: '1' } };
    expect(takeReplayBody(plain, bodies)).toBe(plain);
    // fetch's one-shot stream was closed unread.
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });
});
