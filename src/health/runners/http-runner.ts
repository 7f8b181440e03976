import { STATUS_CODES } from 'node:http';
import { Agent, buildConnector, interceptors, request, type Dispatcher } from 'undici';
import { BoundedBuffer } from '../output.js';
import type { CheckResult, RunContext, Runner } from '../types.js';
import { errorText } from './errors.js';
import { guardedLookup, isMetadataAddress, MetadataAddressError } from './metadata-guard.js';

export interface HttpCheckSpec {
  url: string;
  method?: string;
  header?: Record<string, string[]>;
  body?: string;
  tlsSkipVerify?: boolean;
  tlsServerName?: string;
  outputMax: number;
  /** Let the check reach cloud metadata addresses (`--allow-metadata-checks`); default false. */
  allowMetadataAddresses?: boolean;
}

const MAX_REDIRECTS = 10;
const shared = new Map<string, Dispatcher>();

/**
 * A connector that refuses metadata addresses (metadata-guard.ts): by literal host name, and
 * among the addresses a name resolves to. It sits under the redirect interceptor, so a redirect
 * there is refused too.
 */
function guardedConnector(tls: buildConnector.BuildOptions): buildConnector.connector {
  const base = buildConnector({ ...tls, lookup: guardedLookup });
  return (opts, callback) => {
    if (isMetadataAddress(opts.hostname)) {
      callback(new MetadataAddressError(opts.hostname.replace(/^\[|\]$/g, '')), null);
      return;
    }
    base(opts, callback);
  };
}

function makeDispatcher(skipVerify: boolean, serverName: string | undefined, guard: boolean): Dispatcher {
  const tls: buildConnector.BuildOptions = { rejectUnauthorized: !skipVerify, ...(serverName ? { servername: serverName } : {}) };
  return new Agent({ connect: guard ? guardedConnector(tls) : tls }).compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTS }));
}

/**
 * Dispatchers following redirects as Go's client does: shared ones (verifying TLS or not,
 * guarded or not), and for a check with TLSServerName its own: that name is sent as SNI and is
 * the one the certificate must hold (instead of the URL's host), on every connection including
 * redirects.
 */
function dispatcher(skipVerify: boolean, serverName: string | undefined, guard: boolean): Dispatcher {
  if (serverName) return makeDispatcher(skipVerify, serverName, guard);
  const key = `${skipVerify}/${guard}`;
  let d = shared.get(key);
  if (!d) shared.set(key, (d = makeDispatcher(skipVerify, undefined, guard)));
  return d;
}

/**
 * HTTP check, as Consul's: 2xx passing, 429 warning, anything else (or no answer within the
 * timeout) critical. No keep-alive between runs, so a dead instance is seen as dead.
 * Output: `HTTP GET <url>: 200 OK Output: <first bytes of the body>`.
 */
export class HttpRunner implements Runner {
  private readonly dispatcher: Dispatcher;
  private readonly closeDispatcher: boolean;
  private readonly method: string;
  private readonly headers: Record<string, string | string[]>;

  constructor(private readonly spec: HttpCheckSpec) {
    this.dispatcher = dispatcher(spec.tlsSkipVerify === true, spec.tlsServerName, spec.allowMetadataAddresses !== true);
    this.closeDispatcher = Boolean(spec.tlsServerName);
    this.method = (spec.method || 'GET').toUpperCase();
    const headers: Record<string, string | string[]> = { 'user-agent': 'Consul Health Check', accept: 'text/plain, text/*, */*' };
    for (const [k, v] of Object.entries(spec.header ?? {})) headers[k.toLowerCase()] = v.length === 1 ? v[0] : v;
    this.headers = headers;
  }

  async run(ctx: RunContext): Promise<CheckResult> {
    const { url } = this.spec;
    try {
      const res = await request(url, {
        method: this.method,
        headers: this.headers,
        body: this.spec.body || undefined,
        dispatcher: this.dispatcher,
        signal: ctx.signal,
        reset: true,
        // undici takes the SNI name from a Host header before the connector's own `servername`;
        // given per request too, TLSServerName wins over any Header, as Go's tls.Config.ServerName does.
        ...(this.spec.tlsServerName ? { servername: this.spec.tlsServerName } : {}),
      });
      const out = new BoundedBuffer(this.spec.outputMax);
      try {
        for await (const chunk of res.body) {
          out.push(chunk as Buffer);
          if (out.full) break;
        }
      } finally {
        res.body.destroy();
      }
      const code = res.statusCode;
      const status = code >= 200 && code < 300 ? 'passing' : code === 429 ? 'warning' : 'critical';
      return { status, output: `HTTP ${this.method} ${url}: ${code} ${STATUS_CODES[code] ?? ''} Output: ${out.text()}` };
    } catch (err) {
      if (ctx.signal.aborted) return { status: 'critical', output: `${this.method} ${url}: timed out after ${ctx.timeoutMs} ms with no answer` };
      return { status: 'critical', output: `${this.method} ${url}: ${errorText(err)}` };
    }
  }

  close(): void {
    if (this.closeDispatcher) void this.dispatcher.close().catch(() => undefined);
  }
}
