/**
 * What one server knows of the WAN: every datacenter and its servers, which of them answer, and
 * the round-trip time to each. Pure bookkeeping (no I/O, no timers), driven by the exchange loop
 * and by forwarding, so it is tested on its own.
 */

/** One server of a datacenter, as the WAN exchange carries it. */
export interface WanServer {
  Node: string;
  Datacenter: string;
  /** Advertise address (IP or host name). */
  Addr: string;
  /** HTTP API, host:port. */
  Http: string;
  /** DNS, host:port ('' when off). */
  Dns: string;
  Version: string;
}

/** A server's standing as this server sees it. */
export interface WanMember extends WanServer {
  /** 'alive' while it answers; 'failed' after a try that did not get through. */
  status: 'alive' | 'failed';
  /** Median of the last round trips to it (ms), undefined before the first. */
  rttMs: number | undefined;
}

export interface DatacenterView {
  name: string;
  /** The median of its servers' round-trip times (0 for the local datacenter; undefined: none measured). */
  rttMs: number | undefined;
  /** Some server of it answers (always true for the local datacenter). */
  reachable: boolean;
  servers: readonly WanMember[];
}

const RTT_SAMPLES = 5;
/** Bounds on what an exchange may make this table hold. */
export const MAX_DATACENTERS = 64;
export const MAX_SERVERS_PER_DC = 64;

interface Entry {
  server: WanServer;
  failed: boolean;
  samples: number[];
}

const median = (xs: readonly number[]): number | undefined => {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

/**
 * @example
 * const t = new WanMemberTable('dc1', () => [self]);
 * t.learn('dc2', [{ Node: 's2', Datacenter: 'dc2', Addr: '10.0.0.2', Http: '10.0.0.2:8500', Dns: '', Version: '1' }], true);
 * t.succeeded('dc2', 's2', 12);
 * t.datacenters(); // ['dc1', 'dc2']
 */
export class WanMemberTable {
  /** Remote datacenters: name -> node -> entry. */
  private readonly dcs = new Map<string, Map<string, Entry>>();
  /** Remote datacenters whose server list came from the datacenter itself (not second hand). */
  private readonly authoritative = new Set<string>();
  /** Bumped on every change of membership or reachability (not on a new RTT sample). */
  version = 0;

  constructor(
    readonly local: string,
    private readonly localServers: () => readonly WanServer[],
  ) {}

  /**
   * Takes a list of servers of `dc`. `firstHand`: the list came from a server of `dc` itself and
   * replaces what was known (servers gone from it are dropped). Second-hand lists (what another
   * datacenter knows of a third) only add servers of datacenters not heard from first hand, so
   * stale hearsay cannot bring back a server its own datacenter dropped. Past the bounds, the
   * rest is ignored.
   */
  learn(dc: string, servers: readonly WanServer[], firstHand: boolean): void {
    if (dc === this.local) return;
    if (!firstHand && this.authoritative.has(dc)) return;
    let nodes = this.dcs.get(dc);
    if (!nodes) {
      if (this.dcs.size >= MAX_DATACENTERS - 1) return;
      nodes = new Map();
      this.dcs.set(dc, nodes);
      this.version++;
    }
    const given = servers.filter((s) => s.Datacenter === dc).slice(0, MAX_SERVERS_PER_DC);
    if (firstHand) {
      this.authoritative.add(dc);
      const keep = new Set(given.map((s) => s.Node));
      for (const node of [...nodes.keys()]) {
        if (!keep.has(node)) {
          nodes.delete(node);
          this.version++;
        }
      }
    }
    for (const s of given) {
      const e = nodes.get(s.Node);
      if (!e) {
        if (nodes.size >= MAX_SERVERS_PER_DC) continue;
        nodes.set(s.Node, { server: { ...s }, failed: false, samples: [] });
        this.version++;
      } else if (e.server.Http !== s.Http || e.server.Dns !== s.Dns || e.server.Addr !== s.Addr || e.server.Version !== s.Version) {
        e.server = { ...s };
        this.version++;
      }
    }
  }

  /** A request to the server got its answer after `rttMs` (undefined: heard from it, not timed). */
  succeeded(dc: string, node: string, rttMs?: number): void {
    const e = this.dcs.get(dc)?.get(node);
    if (!e) return;
    if (e.failed) {
      e.failed = false;
      this.version++;
    }
    if (rttMs !== undefined && Number.isFinite(rttMs) && rttMs >= 0) {
      e.samples.push(rttMs);
      if (e.samples.length > RTT_SAMPLES) e.samples.shift();
    }
  }

  /** A request to the server did not get through (refused, timed out, reset). */
  failed(dc: string, node: string): void {
    const e = this.dcs.get(dc)?.get(node);
    if (!e || e.failed) return;
    e.failed = true;
    this.version++;
  }

  isFailed(dc: string, node: string): boolean {
    return this.dcs.get(dc)?.get(node)?.failed ?? false;
  }

  has(dc: string): boolean {
    return dc === this.local || this.dcs.has(dc);
  }

  /** Whether some server of `dc` answers (the local datacenter always does). */
  reachable(dc: string): boolean {
    if (dc === this.local) return true;
    const nodes = this.dcs.get(dc);
    return nodes !== undefined && [...nodes.values()].some((e) => !e.failed);
  }

  /** The datacenter's round-trip time: the median over its answering servers (0 for the local one). */
  rtt(dc: string): number | undefined {
    if (dc === this.local) return 0;
    const nodes = this.dcs.get(dc);
    if (!nodes) return undefined;
    return median([...nodes.values()].filter((e) => !e.failed && e.samples.length > 0).map((e) => median(e.samples) as number));
  }

  /**
   * Every datacenter, nearest first: the local one, then by round-trip time (unreachable or
   * unmeasured ones last), ties by name.
   */
  datacenters(): string[] {
    const dist = (dc: string) => {
      if (dc === this.local) return -1;
      if (!this.reachable(dc)) return Number.POSITIVE_INFINITY;
      return this.rtt(dc) ?? Number.POSITIVE_INFINITY;
    };
    return [this.local, ...this.dcs.keys()].sort((a, b) => dist(a) - dist(b) || (a < b ? -1 : a > b ? 1 : 0));
  }

  /**
   * The servers of a remote datacenter in the order to try them: answering ones first (the
   * fastest first), then failed ones (they may be back). Empty for an unknown datacenter.
   */
  serversToTry(dc: string): WanServer[] {
    const nodes = this.dcs.get(dc);
    if (!nodes) return [];
    const score = (e: Entry) => (e.failed ? 1e12 : 0) + (median(e.samples) ?? 1e6);
    return [...nodes.values()].sort((a, b) => score(a) - score(b)).map((e) => e.server);
  }

  /** Every datacenter with its servers, the local one first (its servers as the group has them now). */
  view(): DatacenterView[] {
    return this.datacenters().map((name) => {
      if (name === this.local) {
        return { name, rttMs: 0, reachable: true, servers: this.localServers().map((s) => ({ ...s, status: 'alive' as const, rttMs: 0 })) };
      }
      const servers = [...(this.dcs.get(name)?.values() ?? [])].map((e): WanMember => ({
        ...e.server,
        status: e.failed ? 'failed' : 'alive',
        rttMs: median(e.samples),
      }));
      return { name, rttMs: this.rtt(name), reachable: this.reachable(name), servers };
    });
  }

  /** Everything this server knows, as it tells another server: every server of every datacenter. */
  known(): WanServer[] {
    const out: WanServer[] = [...this.localServers()];
    for (const nodes of this.dcs.values()) for (const e of nodes.values()) out.push({ ...e.server });
    return out;
  }

  /** Whether a server at this HTTP address is known (so a join address need not be tried on its own). */
  knowsHttp(http: string): boolean {
    for (const nodes of this.dcs.values()) for (const e of nodes.values()) if (e.server.Http === http) return true;
    return this.localServers().some((s) => s.Http === http);
  }

  remoteDatacenters(): string[] {
    return [...this.dcs.keys()];
  }
}
