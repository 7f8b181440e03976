/**
 * The two messages of grpc.health.v1 (grpc/grpc-proto health.proto), encoded by hand — one
 * string field out, one enum field back — so no .proto file or code generator is needed.
 *
 *   message HealthCheckRequest  { string service = 1; }
 *   message HealthCheckResponse { ServingStatus status = 1; }
 *   enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
 */
export const HEALTH_CHECK_METHOD = '/grpc.health.v1.Health/Check';

export const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const;

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

/** Reads a varint at `pos`; returns [value, next position]. Values above 2^53 are not expected here. */
function readVarint(buf: Buffer, pos: number): [number, number] {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++];
    value += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return [value, pos];
    mul *= 128;
  }
  throw new Error('varint too long');
}

/** Encodes a HealthCheckRequest (an empty service asks about the server as a whole). */
export function encodeHealthCheckRequest(service: string): Buffer {
  if (service === '') return Buffer.alloc(0);
  const s = Buffer.from(service, 'utf8');
  return Buffer.concat([Buffer.from([0x0a, ...varint(s.length)]), s]);
}

/** Decodes a HealthCheckResponse's status (0 when absent, as proto3 defaults it). Unknown fields are skipped. */
export function decodeHealthCheckResponse(buf: Buffer): number {
  let pos = 0;
  let status = 0;
  while (pos < buf.length) {
    const [tag, p] = readVarint(buf, pos);
    pos = p;
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) {
      const [v, q] = readVarint(buf, pos);
      pos = q;
      if (field === 1) status = v;
    } else if (wire === 2) {
      const [len, q] = readVarint(buf, pos);
      pos = q + len;
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 5) {
      pos += 4;
    } else {
      throw new Error(`unsupported wire type ${wire}`);
    }
    if (pos > buf.length) throw new Error('truncated message');
  }
  return status;
}

/** Encodes a HealthCheckResponse (for test servers). */
export function encodeHealthCheckResponse(status: number): Buffer {
  return status === 0 ? Buffer.alloc(0) : Buffer.from([0x08, ...varint(status)]);
}

/** Decodes a HealthCheckRequest's service name (for test servers). */
export function decodeHealthCheckRequest(buf: Buffer): string {
  let pos = 0;
  let service = '';
  while (pos < buf.length) {
    const [tag, p] = readVarint(buf, pos);
    pos = p;
    if ((tag & 7) === 2) {
      const [len, q] = readVarint(buf, pos);
      if (tag >>> 3 === 1) service = buf.subarray(q, q + len).toString('utf8');
      pos = q + len;
    } else if ((tag & 7) === 0) {
      pos = readVarint(buf, pos)[1];
    } else {
      throw new Error(`unsupported wire type ${tag & 7}`);
    }
  }
  return service;
}
