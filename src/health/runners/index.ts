import type { CheckRecord } from '../../catalog/index.js';
import { outputCap } from '../output.js';
import type { Runner } from '../types.js';
import { GrpcRunner } from './grpc-runner.js';
import { HttpRunner } from './http-runner.js';
import { ScriptRunner } from './script-runner.js';
import { TcpRunner } from './tcp-runner.js';

export { HttpRunner, type HttpCheckSpec } from './http-runner.js';
export { TcpRunner, splitHostPort } from './tcp-runner.js';
export { GrpcRunner, parseGrpcTarget, type GrpcCheckSpec } from './grpc-runner.js';
export { ScriptRunner } from './script-runner.js';
export { isMetadataAddress, MetadataAddressError } from './metadata-guard.js';
export * from './grpc-health-proto.js';

/** Check kinds run on an interval. */
export type ActiveType = 'http' | 'tcp' | 'grpc' | 'script';

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_SCRIPT_TIMEOUT_MS = 30_000;

export function isActiveType(t: string): t is ActiveType {
  return t === 'http' || t === 'tcp' || t === 'grpc' || t === 'script';
}

/**
 * A check's timeout: its Timeout, else (as Consul) 30 s for scripts and, for network checks,
 * 10 s or the interval when that is shorter, so a run ends before the next one is due.
 */
export function timeoutOf(c: CheckRecord): number {
  const d = c.Definition;
  if (d.TimeoutMs && d.TimeoutMs > 0) return d.TimeoutMs;
  if (c.Type === 'script') return DEFAULT_SCRIPT_TIMEOUT_MS;
  return Math.min(DEFAULT_TIMEOUT_MS, d.IntervalMs && d.IntervalMs > 0 ? d.IntervalMs : DEFAULT_TIMEOUT_MS);
}

/** Builds the runner for an active check; undefined when its definition lacks what the kind needs. */
export function createRunner(c: CheckRecord, opts: { allowMetadataAddresses?: boolean } = {}): Runner | undefined {
  const d = c.Definition;
  const allowMetadataAddresses = opts.allowMetadataAddresses === true;
  const max = outputCap(d.OutputMaxSize);
  switch (c.Type) {
    case 'http':
      return d.HTTP
        ? new HttpRunner({
            url: d.HTTP,
            method: d.Method,
            header: d.Header,
            body: d.Body,
            tlsSkipVerify: d.TLSSkipVerify,
            tlsServerName: d.TLSServerName,
            outputMax: max,
            allowMetadataAddresses,
          })
        : undefined;
    case 'tcp':
      return d.TCP ? new TcpRunner(d.TCP, allowMetadataAddresses) : undefined;
    case 'grpc':
      return d.GRPC
        ? new GrpcRunner({ target: d.GRPC, useTls: d.GRPCUseTLS, tlsSkipVerify: d.TLSSkipVerify, tlsServerName: d.TLSServerName, allowMetadataAddresses })
        : undefined;
    case 'script':
      return d.Args && d.Args.length > 0 ? new ScriptRunner(d.Args, max) : undefined;
    default:
      return undefined;
  }
}
