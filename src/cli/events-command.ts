import { Option, type Command } from 'commander';
import { BeaconClientError } from '../client/index.js';
import { resolveToken, type Query } from './api-client.js';
import { clientAction, clientCommand, errorLine, type HttpAddrOption } from './client-command.js';
import { CLI_EVENT_KINDS, formatEvent, type EventLine } from './events-format.js';
import { collect, usageError } from './flags.js';

interface EventsOptions extends HttpAddrOption {
  follow?: boolean;
  service?: string;
  node?: string;
  kind?: string[];
  since?: string;
  json?: boolean;
}

/** The query of an events request from the flags; throws a usage error naming a bad flag. */
export function eventsQuery(opts: EventsOptions): Query {
  if (opts.since !== undefined && !/^\d{1,15}$/.test(opts.since)) throw usageError(`--since: "${opts.since}" is not a revision (a whole number)`);
  for (const k of opts.kind ?? []) if (!CLI_EVENT_KINDS.includes(k)) throw usageError(`--kind: "${k}" is not one of ${CLI_EVENT_KINDS.join(', ')}`);
  for (const [flag, v] of [
    ['--service', opts.service],
    ['--node', opts.node],
  ] as const)
    if (v !== undefined && (v === '' || v.length > 512)) throw usageError(`${flag}: must be 1 to 512 characters`);
  return {
    ...(opts.since !== undefined ? { since: opts.since } : {}),
    ...(opts.service !== undefined ? { service: opts.service } : {}),
    ...(opts.node !== undefined ? { node: opts.node } : {}),
    ...(opts.kind && opts.kind.length > 0 ? { kind: opts.kind.join(',') } : {}),
  };
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/** `beacon events`: the event history, and with --follow every new event, as readable lines or JSON lines. */
export function eventsCommand(): Command {
  return clientCommand('events', 'Print the event history (registrations, check transitions, liveness, maintenance); --follow keeps printing new ones', [
    'beacon events',
    'beacon events --follow --service web',
    'beacon events --kind check-status --kind node-liveness --since 1200 --json',
  ])
    .option('-f, --follow', 'keep printing new events until interrupted (reconnects and resumes by revision)')
    .option('--service <name>', 'only events of this service')
    .option('--node <name>', 'only events of this node')
    .addOption(new Option('--kind <kind>', `only events of this kind (repeatable): ${CLI_EVENT_KINDS.join(', ')}`).argParser(collect))
    .option('--since <revision>', 'only events after this store revision (older than the history: a gap line, then what is held)')
    .option('--json', 'print each event as the server sends it, one JSON object a line')
    .action(
      clientAction<EventsOptions>(async ({ api, out, note, untilStopped }, opts) => {
        const query = eventsQuery(opts);
        const print = (line: string): number | undefined => {
          if (line.trim() === '') return undefined;
          let e: EventLine & { code?: string; message?: string; resumeAfter?: number };
          try {
            e = JSON.parse(line) as typeof e;
          } catch {
            throw new BeaconClientError('BEACON_ERR_REGISTRY_RESPONSE', 'the server sent an event line that is not JSON');
          }
          if (e.code !== undefined) {
            note(`beacon: ${e.message ?? e.code}\n`);
            return e.resumeAfter;
          }
          out(opts.json ? `${line}\n` : `${formatEvent(e)}\n`);
          return e.revision;
        };
        if (!opts.follow) {
          const res = await api.send({ path: '/v1/beacon/events', query: { ...query, follow: 'false' }, what: 'reading events' });
          for (const line of res.text.split('\n')) print(line);
          return;
        }
        const signal = untilStopped();
        const token = resolveToken(opts.token, process.env);
        let since = opts.since;
        for (let attempt = 0; !signal.aborted;) {
          const url = new URL('/v1/beacon/events', api.baseUrl);
          for (const [k, v] of Object.entries({ ...query, ...(since !== undefined ? { since } : {}), ...(opts.datacenter ? { dc: opts.datacenter } : {}) }))
            url.searchParams.set(k, String(v));
          try {
            const res = await fetch(url, { signal, headers: token ? { 'x-consul-token': token } : {} });
            if (res.status !== 200) {
              const body = await res.text();
              let msg = body;
              try {
                msg = (JSON.parse(body) as { message?: string }).message ?? body;
              } catch {
                /* not JSON */
              }
              if (res.status < 500) throw new BeaconClientError('BEACON_ERR_REGISTRY_RESPONSE', `error reading events: ${msg} (HTTP ${res.status})`);
              throw new Error(`${msg} (HTTP ${res.status})`);
            }
            attempt = 0;
            const decoder = new TextDecoder();
            let buf = '';
            for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
              buf += decoder.decode(chunk, { stream: true });
              let nl: number;
              while ((nl = buf.indexOf('\n')) >= 0) {
                const rev = print(buf.slice(0, nl));
                buf = buf.slice(nl + 1);
                if (rev !== undefined) since = String(rev);
              }
            }
            if (signal.aborted) return;
            note('beacon: the event stream ended; reconnecting\n');
          } catch (err) {
            if (signal.aborted) return;
            if (err instanceof BeaconClientError) throw err;
            attempt++;
            const delay = Math.min(10_000, 250 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random() / 2);
            note(`beacon: ${errorLine(err)}; retrying in ${(delay / 1000).toFixed(1)}s\n`);
            await sleep(delay, signal);
          }
        }
      }),
    );
}
