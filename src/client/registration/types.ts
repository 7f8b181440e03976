import type { Duration } from '../duration.js';

/** Settings every check kind shares. */
interface CheckCommon {
  /** Remove the instance once its check has been critical this long (Consul's minimum is 1m). */
  readonly deregisterCriticalAfter?: Duration;
  readonly notes?: string;
}

/** A TTL check: the SDK sends a heartbeat every third of `ttl` (with jitter). */
export interface TtlCheckOptions extends CheckCommon {
  readonly ttl: Duration;
  /** Status right after registering; default `passing` (register once you are ready to serve). */
  readonly initialStatus?: 'passing' | 'warning' | 'critical';
}

/** An HTTP check the server runs: 2xx passing, 429 warning, anything else critical. */
export interface HttpCheckOptions extends CheckCommon {
  readonly http: string;
  readonly interval: Duration;
  readonly timeout?: Duration;
  readonly method?: string;
  readonly header?: Readonly<Record<string, readonly string[]>>;
  readonly tlsSkipVerify?: boolean;
  /** Name the server sends (SNI) and verifies for an `https://` check, e.g. when `http` names an IP. */
  readonly tlsServerName?: string;
}

/** A TCP check the server runs: passing when it can connect to `tcp` ("host:port"). */
export interface TcpCheckOptions extends CheckCommon {
  readonly tcp: string;
  readonly interval: Duration;
  readonly timeout?: Duration;
}

export type CheckOptions = TtlCheckOptions | HttpCheckOptions | TcpCheckOptions;

/** What {@link BeaconClient.register} registers. */
export interface RegisterOptions {
  /** Service name. */
  readonly name: string;
  /** Instance id; default `<name>-<hostname>-<port>`. */
  readonly id?: string;
  /** Address callers connect to; default the address of the node it is registered on. */
  readonly address?: string;
  readonly port: number;
  readonly tags?: readonly string[];
  readonly meta?: Readonly<Record<string, string>>;
  /** Traffic share while passing / in warning (weighted balancing, DNS SRV weights). Default 1 / 1. */
  readonly weights?: { readonly passing?: number; readonly warning?: number };
  /** Health check; without one the instance counts as passing while registered. */
  readonly check?: CheckOptions;
}
