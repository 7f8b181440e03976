import { connect } from 'node:net';
import type { CheckResult, RunContext, Runner } from '../types.js';
import { errorText } from './errors.js';
import { guardedLookup, isMetadataAddress, MetadataAddressError } from './metadata-guard.js';

/** Splits "host:port" (IPv6 in brackets). */
export function splitHostPort(target: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(target);
  if (!m) throw new Error(`"${target}" is not HOST:PORT`);
  return { host: m[1] || '127.0.0.1', port: Number(m[2]) };
}

/** TCP check: passing once a connection opens within the timeout, critical otherwise. */
export class TcpRunner implements Runner {
  constructor(
    private readonly target: string,
    /** Let the check reach cloud metadata addresses (`--allow-metadata-checks`). */
    private readonly allowMetadataAddresses = false,
  ) {}

  run(ctx: RunContext): Promise<CheckResult> {
    return new Promise((resolve) => {
      let hp: { host: string; port: number };
      try {
        hp = splitHostPort(this.target);
      } catch (err) {
        resolve({ status: 'critical', output: `TCP connect ${this.target}: ${errorText(err)}` });
        return;
      }
      if (!this.allowMetadataAddresses && isMetadataAddress(hp.host)) {
        resolve({ status: 'critical', output: `dial tcp ${this.target}: ${new MetadataAddressError(hp.host).message}` });
        return;
      }
      const sock = connect({ host: hp.host, port: hp.port, ...(this.allowMetadataAddresses ? {} : { lookup: guardedLookup }) });
      const done = (r: CheckResult) => {
        ctx.signal.removeEventListener('abort', onAbort);
        sock.destroy();
        resolve(r);
      };
      const onAbort = () => done({ status: 'critical', output: `TCP connect ${this.target}: timed out after ${ctx.timeoutMs} ms` });
      if (ctx.signal.aborted) return onAbort();
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      sock.once('connect', () => done({ status: 'passing', output: `TCP connect ${this.target}: Success` }));
      sock.once('error', (err) => done({ status: 'critical', output: `dial tcp ${this.target}: ${errorText(err)}` }));
    });
  }
}
