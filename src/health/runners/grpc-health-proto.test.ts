import { describe, expect, it } from 'vitest';
import { decodeHealthCheckRequest, decodeHealthCheckResponse, encodeHealthCheckRequest, encodeHealthCheckResponse } from './grpc-health-proto.js';
import { parseGrpcTarget } from './grpc-runner.js';

describe('grpc.health.v1 encoding', () => {
  it('encodes the request as protobuf field 1 (string)', () => {
    expect(encodeHealthCheckRequest('')).toEqual(Buffer.alloc(0));
    expect(encodeHealthCheckRequest('svc')).toEqual(Buffer.from([0x0a, 3, 0x73, 0x76, 0x63]));
    const long = 'x'.repeat(300);
    expect(decodeHealthCheckRequest(encodeHealthCheckRequest(long))).toBe(long);
  });

  it('decodes the response status, skipping unknown fields', () => {
    expect(decodeHealthCheckResponse(Buffer.alloc(0))).toBe(0);
    expect(decodeHealthCheckResponse(encodeHealthCheckResponse(1))).toBe(1);
    expect(decodeHealthCheckResponse(encodeHealthCheckResponse(2))).toBe(2);
    // field 2 (length-delimited "ab") before field 1 = 3
    expect(decodeHealthCheckResponse(Buffer.from([0x12, 2, 0x61, 0x62, 0x08, 3]))).toBe(3);
    expect(() => decodeHealthCheckResponse(Buffer.from([0x08]))).toThrow(/truncated/);
  });

  it('splits Consul GRPC targets into address and service', () => {
    expect(parseGrpcTarget('127.0.0.1:5000')).toEqual({ address: '127.0.0.1:5000', service: '' });
    expect(parseGrpcTarget('127.0.0.1:5000/my.Service')).toEqual({ address: '127.0.0.1:5000', service: 'my.Service' });
  });
});
