import type { BeaconEvent, Status } from './api';
import { fmtTime } from './api';
import { href } from './router';

export function Badge({ status }: { status: string }) {
  return <span class={`badge ${status}`}>{status}</span>;
}

export function Counts({ passing, warning, critical }: { passing: number; warning: number; critical: number }) {
  return (
    <span class="counts">
      <span class="c passing" title="passing">
        {passing}
      </span>
      <span class="c warning" title="warning">
        {warning}
      </span>
      <span class="c critical" title="critical">
        {critical}
      </span>
    </span>
  );
}

export function Meta({ meta }: { meta: Record<string, string> | undefined }) {
  const entries = Object.entries(meta ?? {});
  if (entries.length === 0) return <span class="muted">none</span>;
  return (
    <span class="meta">
      {entries.map(([k, v]) => (
        <code key={k}>
          {k}={v}
        </code>
      ))}
    </span>
  );
}

export const Tags = ({ tags }: { tags: string[] | undefined }) =>
  tags && tags.length > 0 ? (
    <span class="tags">
      {tags.map((t) => (
        <span class="tag" key={t}>
          {t}
        </span>
      ))}
    </span>
  ) : (
    <span class="muted">none</span>
  );

function describe(e: BeaconEvent) {
  switch (e.kind) {
    case 'check-status':
    case 'node-liveness':
      return (
        <>
          {e.check} <Badge status={e.from ?? ''} /> → <Badge status={e.to ?? ''} />
          {e.flapping && <span class="flapping">flapping</span>}
          {e.output ? <span class="output"> {e.output.slice(0, 200)}</span> : null}
        </>
      );
    case 'maintenance-on':
      return <>maintenance on{e.reason ? `: ${e.reason}` : ''}</>;
    case 'gap':
      return (
        <>
          events after revision {e.after} up to {e.revision} are not in the history
        </>
      );
    default:
      return null;
  }
}

/** Events as a timeline, newest first. */
export function Timeline({ events, empty }: { events: BeaconEvent[]; empty: string }) {
  if (events.length === 0) return <p class="muted">{empty}</p>;
  return (
    <ol class="timeline">
      {[...events].reverse().map((e, i) => (
        <li key={`${e.revision}-${i}`} class={`ev ${e.kind}${e.flapping ? ' is-flapping' : ''}`}>
          <time>{fmtTime(e.time)}</time> <span class="kind">{e.kind}</span>{' '}
          {e.service && e.instance ? (
            <a href={e.node ? href.instance(e.service, e.node, e.instance) : href.service(e.service)}>
              {e.service}/{e.instance}
            </a>
          ) : e.node ? (
            <a href={href.node(e.node)}>{e.node}</a>
          ) : null}{' '}
          {describe(e)} <span class="rev">#{e.revision}</span>
        </li>
      ))}
    </ol>
  );
}

export const statusOrder: Record<Status, number> = { critical: 0, maintenance: 0, warning: 1, passing: 2 };
