/**
 * Records every write of check records under one store prefix, straight from etcd (its JSON
 * gateway's watch stream), independently of Beacon: the fault suite's proof that no server
 * wrote a status it must not have written, even one corrected a moment later. A stream that
 * breaks (its member killed, the whole cluster stopped) is opened again on a running member
 * from the next revision owed, so no revision is skipped; a resume that finds that revision
 * compacted is recorded as a gap.
 *
 * @example
 * const rec = startCheckRecorder(etcd, '/beacon/dc1/beacon/catalog/checks/beacon-servers/');
 * rec.writes.filter((w) => w.status === 'critical');
 * await rec.stop();
 */
import type { EtcdCluster } from '../helpers/etcd-cluster.js';

export interface CheckWrite {
  /** When the recorder received it (ms since the epoch). */
  at: number;
  revision: number;
  /** The key after the prefix, decoded (a check ID). */
  checkId: string;
  /** undefined for a delete. */
  status: string | undefined;
  output: string;
}

export interface CheckRecorder {
  readonly writes: readonly CheckWrite[];
  /** Revisions the recorder could not see (compacted while its stream was down). */
  readonly gaps: readonly string[];
  /** Streams opened (1 + resumptions). */
  readonly streams: number;
  /** The next revision owed. */
  readonly next: number;
  stop(): Promise<void>;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined): string => (s === undefined ? '' : Buffer.from(s, 'base64').toString('utf8'));

/** The end of the key range of every key starting with `prefix`. */
function prefixEnd(prefix: string): string {
  const buf = Buffer.from(prefix, 'utf8');
  buf[buf.length - 1]++;
  return buf.toString('base64');
}

interface GatewayEvent {
  type?: string;
  kv: { key: string; value?: string; mod_revision?: string };
}

interface GatewayResult {
  result?: { header?: { revision?: string }; created?: boolean; canceled?: boolean; compact_revision?: string; events?: GatewayEvent[] };
  error?: unknown;
}

export function startCheckRecorder(etcd: EtcdCluster, prefix: string): CheckRecorder {
  const writes: CheckWrite[] = [];
  const gaps: string[] = [];
  let next = 0;
  let streams = 0;
  let stopped = false;
  let abort: AbortController | undefined;

  const handle = (line: string): void => {
    const msg = JSON.parse(line) as GatewayResult;
    const r = msg.result;
    if (!r) return;
    const compact = Number(r.compact_revision ?? 0);
    if (compact > 0) {
      gaps.push(`revisions ${next}..${compact - 1} were compacted before the recorder saw them`);
      next = compact;
      throw new Error('compacted');
    }
    if (r.created && next === 0) next = Number(r.header?.revision ?? 0) + 1;
    for (const ev of r.events ?? []) {
      const revision = Number(ev.kv.mod_revision ?? 0);
      if (revision < next) continue;
      const checkId = decodeURIComponent(unb64(ev.kv.key).slice(prefix.length));
      if (ev.type === 'DELETE') {
        writes.push({ at: Date.now(), revision, checkId, status: undefined, output: '' });
      } else {
        const rec = JSON.parse(unb64(ev.kv.value)) as { Status?: string; Output?: string };
        writes.push({ at: Date.now(), revision, checkId, status: rec.Status, output: rec.Output ?? '' });
      }
    }
    const last = r.events?.at(-1);
    if (last) next = Math.max(next, Number(last.kv.mod_revision ?? 0) + 1);
  };

  const once = async (member: number): Promise<void> => {
    abort = new AbortController();
    const create: Record<string, unknown> = { key: b64(prefix), range_end: prefixEnd(prefix), progress_notify: true };
    if (next > 0) create.start_revision = String(next);
    const res = await fetch(`${etcd.endpoints[member]}/v3/watch`, {
      method: 'POST',
      body: JSON.stringify({ create_request: create }),
      headers: { 'content-type': 'application/json' },
      signal: abort.signal,
    });
    if (!res.ok || !res.body) throw new Error(`watch: HTTP ${res.status}`);
    streams++;
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body) {
      buf += decoder.decode(chunk as Uint8Array, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line !== '') handle(line);
      }
    }
  };

  const loop = (async () => {
    let member = 0;
    while (!stopped) {
      if (etcd.isRunning(member)) {
        try {
          await once(member);
        } catch {
          // The stream broke: resume from `next` on another member.
        }
      }
      member = (member + 1) % etcd.size;
      if (!stopped) await new Promise((r) => setTimeout(r, 200));
    }
  })();

  return {
    writes,
    gaps,
    get streams() {
      return streams;
    },
    get next() {
      return next;
    },
    async stop() {
      stopped = true;
      abort?.abort();
      await loop;
    },
  };
}
