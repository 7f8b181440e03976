import { Client, credentials, Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { CheckResult, RunContext, Runner } from '../types.js';
import { isMetadataAddress, MetadataAddressError } from './metadata-guard.js';
import { decodeHealthCheckResponse, encodeHealthCheckRequest, HEALTH_CHECK_METHOD, SERVING_STATUS } from './grpc-health-proto.js';

export interface GrpcCheckSpec {
  /** "host:port" or "host:port/service", as Consul's GRPC field. */
  target: string;
  useTls?: boolean;
  tlsSkipVerify?: boolean;
  /** With useTls: the name sent as SNI and verified in the certificate, instead of the target's host. */
  tlsServerName?: string;
  /** Let the check reach cloud metadata addresses (`--allow-metadata-checks`); default false. */
  allowMetadataAddresses?: boolean;
}

/** Splits Consul's GRPC target into the address and the service name asked about. */
export function parseGrpcTarget(target: string): { address: string; service: string } {
  const slash = target.indexOf('/');
  return slash < 0 ? { address: target, service: '' } : { address: target.slice(0, slash), service: target.slice(slash + 1) };
}

const statusName = (code: number): string => (GrpcStatus as unknown as Record<number, string>)[code] ?? String(code);

/**
 * gRPC check: the standard grpc.health.v1.Health/Check. SERVING is passing; any other serving
 * status, an error or no answer within the timeout is critical. Like Consul it dials a fresh
 * connection for each run, so a restarted instance is never judged by a stale channel.
 */
export class GrpcRunner implements Runner {
  private readonly address: string;
  private readonly request: Buffer;

  constructor(private readonly spec: GrpcCheckSpec) {
    const t = parseGrpcTarget(spec.target);
    this.address = t.address;
    this.request = encodeHealthCheckRequest(t.service);
  }

  async run(ctx: RunContext): Promise<CheckResult> {
    if (!this.spec.allowMetadataAddresses) {
      // grpc-js resolves names itself: the name is resolved here first and refused when it
      // points at a metadata address (a name changed between the two lookups is not caught).
      const refused = await refuseMetadata(this.address);
      if (refused) return { status: 'critical', output: `gRPC check ${this.spec.target}: failed: ${refused}` };
    }
    return this.call(ctx);
  }

  private call(ctx: RunContext): Promise<CheckResult> {
    const creds = this.spec.useTls ? credentials.createSsl(null, null, null, { rejectUnauthorized: !this.spec.tlsSkipVerify }) : credentials.createInsecure();
    const options: Record<string, string | number> = { 'grpc.enable_retries': 0, 'grpc.max_reconnect_backoff_ms': 1000 };
    // grpc-js sends this name as SNI and checks the certificate against it (not the target's
    // host, which for a bare IP would also be sent as SNI, against RFC 6066: Node's DEP0123).
    if (this.spec.useTls && this.spec.tlsServerName) options['grpc.ssl_target_name_override'] = this.spec.tlsServerName;
    const client = new Client(this.address, creds, options);
    const target = this.spec.target;
    return new Promise<CheckResult>((resolve) => {
      const call = client.makeUnaryRequest<Buffer, number>(
        HEALTH_CHECK_METHOD,
        (b) => b,
        (b) => decodeHealthCheckResponse(b),
        this.request,
        new Metadata(),
        { deadline: Date.now() + ctx.timeoutMs },
        (err: ServiceError | null, value?: number) => {
          ctx.signal.removeEventListener('abort', onAbort);
          if (err) {
            const why =
              err.code === GrpcStatus.DEADLINE_EXCEEDED || ctx.signal.aborted
                ? `timed out after ${ctx.timeoutMs} ms`
                : `${statusName(err.code)}: ${err.details || err.message}`;
            resolve({ status: 'critical', output: `gRPC check ${target}: failed: ${why}` });
            return;
          }
          const s = value ?? 0;
          if (s === 1) resolve({ status: 'passing', output: `gRPC check ${target}: success` });
          else resolve({ status: 'critical', output: `gRPC check ${target}: service status ${SERVING_STATUS[s] ?? String(s)}` });
        },
      );
      const onAbort = () => call.cancel();
      if (ctx.signal.aborted) onAbort();
      else ctx.signal.addEventListener('abort', onAbort, { once: true });
    }).finally(() => client.close());
  }
}

/** Why a gRPC target may not be dialled (a metadata address, literal or resolved), or undefined. */
async function refuseMetadata(address: string): Promise<string | undefined> {
  const m = /^\[?([^\]]*?)\]?:\d+$/.exec(address);
  const host = m ? m[1] : address;
  if (isIP(host)) return isMetadataAddress(host) ? new MetadataAddressError(host).message : undefined;
  try {
    const found = (await lookup(host, { all: true })).find((a) => isMetadataAddress(a.address));
    return found ? new MetadataAddressError(found.address).message : undefined;
  } catch {
    return undefined; // grpc-js reports the failed resolution itself
  }
}
