import { useEffect, useState } from 'preact/hooks';
import { fmtTime, loadEvents, loadService, mergeEvents, Unreachable, worst, type BeaconEvent, type HealthEntry } from './api';
import { Badge, Meta, statusOrder, Tags, Timeline } from './common';
import { live } from './live';
import { href } from './router';

/** When each check last changed, from the history (undefined when the history does not reach back). */
function lastChanges(events: BeaconEvent[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of events) {
    if ((e.kind === 'check-status' || e.kind === 'node-liveness') && e.node && e.check) m.set(`${e.node}\u0000${e.check}`, e.time);
    // A check registered with its instance last changed then, unless a transition came later.
    if (e.kind === 'service-registered' && e.node && e.instance) m.set(`${e.node}\u0000instance:${e.instance}`, e.time);
  }
  return m;
}

export function ServiceView({ name, instance }: { name: string; instance?: { node: string; id: string } }) {
  const [entries, setEntries] = useState<HealthEntry[] | undefined>();
  const [events, setEvents] = useState<BeaconEvent[]>([]);
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    let alive = true;
    let timer: number | undefined;
    const load = async () => {
      try {
        const [e, ev] = await Promise.all([loadService(name), loadEvents({ service: name })]);
        if (!alive) return;
        setEntries(e);
        setEvents((l) => mergeEvents(l, ev));
        setError(undefined);
      } catch (err) {
        if (err instanceof Unreachable) live.lost();
        else if (alive) setError((err as Error).message);
      }
    };
    void load();
    const off = live.onEvent((e) => {
      if (e.service !== name && e.kind !== 'node-liveness' && e.kind !== 'gap') return;
      if (e.service === name) setEvents((list) => mergeEvents(list, [e]));
      if ((e.kind === 'check-status' || e.kind === 'node-liveness') && e.to) {
        setEntries((list) =>
          list?.map((en) => ({
            ...en,
            Checks: en.Checks.map((c) =>
              c.Node === e.node && c.CheckID === e.check ? { ...c, Status: e.to as typeof c.Status, Output: e.output ?? c.Output } : c,
            ),
          })),
        );
      }
      clearTimeout(timer);
      timer = window.setTimeout(() => void load(), 250);
    });
    const offContact = live.onContact((c) => c === 'back' && void load());
    return () => {
      alive = false;
      off();
      offContact();
      clearTimeout(timer);
    };
  }, [name]);
  const changed = lastChanges(events);
  const flapping = new Set(events.filter((e) => e.flapping && Date.now() - e.time < 10 * 60_000).map((e) => `${e.node}\u0000${e.check}`));
  const shown = instance ? entries?.filter((e) => e.Node.Node === instance.node && e.Service.ID === instance.id) : entries;
  return (
    <section>
      <p class="crumbs">
        <a href={href.services()}>Services</a> / {instance ? <a href={href.service(name)}>{name}</a> : name}
        {instance ? ` / ${instance.id} on ${instance.node}` : ''}
      </p>
      <h1>{instance ? instance.id : name}</h1>
      {error && <p class="error">{error}</p>}
      {!entries ? (
        <p class="muted">Loading…</p>
      ) : shown && shown.length === 0 ? (
        <p class="muted">{instance ? 'No such instance.' : 'No instances registered.'}</p>
      ) : (
        <div class="instances">
          {shown?.map((en) => {
            const checks = [...en.Checks].sort((a, b) => statusOrder[a.Status] - statusOrder[b.Status] || a.CheckID.localeCompare(b.CheckID));
            const st = worst(en.Checks.map((c) => c.Status));
            return (
              <article class={`instance row-${st === 'maintenance' ? 'critical' : st}`} key={`${en.Node.Node}/${en.Service.ID}`} data-instance={en.Service.ID}>
                <h2>
                  <a href={href.instance(name, en.Node.Node, en.Service.ID)}>{en.Service.ID}</a> <Badge status={st} />
                </h2>
                <dl>
                  <dt>Node</dt>
                  <dd>
                    <a href={href.node(en.Node.Node)}>{en.Node.Node}</a>
                  </dd>
                  <dt>Address</dt>
                  <dd>
                    <code>
                      {en.Service.Address || en.Node.Address}:{en.Service.Port}
                    </code>
                  </dd>
                  <dt>Tags</dt>
                  <dd>
                    <Tags tags={en.Service.Tags} />
                  </dd>
                  <dt>Metadata</dt>
                  <dd>
                    <Meta meta={en.Service.Meta} />
                  </dd>
                  <dt>Weights</dt>
                  <dd>
                    passing {en.Service.Weights?.Passing ?? 1}, warning {en.Service.Weights?.Warning ?? 1}
                  </dd>
                </dl>
                <div class="scroll">
                  <table class="checks">
                    <thead>
                      <tr>
                        <th>Check</th>
                        <th>Kind</th>
                        <th>Status</th>
                        <th>Output</th>
                        <th>Last change</th>
                      </tr>
                    </thead>
                    <tbody>
                      {checks.map((c) => {
                        const k = `${c.Node}\u0000${c.CheckID}`;
                        const at = changed.get(k) ?? (c.ServiceID ? changed.get(`${c.Node}\u0000instance:${c.ServiceID}`) : undefined);
                        return (
                          <tr key={c.CheckID} data-check={c.CheckID} class={`row-${c.Status === 'maintenance' ? 'critical' : c.Status}`}>
                            <td>
                              {c.Name || c.CheckID} {flapping.has(k) && <span class="flapping">flapping</span>}
                            </td>
                            <td>{c.Type || (c.ServiceID ? 'service' : 'node')}</td>
                            <td>
                              <Badge status={c.Status} />
                            </td>
                            <td class="output">{c.Output}</td>
                            <td>{at ? fmtTime(at) : <span class="muted">before the history</span>}</td>
                          </tr>
                        );
                      })}
                    </tbody>
                  </table>
                </div>
              </article>
            );
          })}
        </div>
      )}
      <h2>History</h2>
      <Timeline
        events={instance ? events.filter((e) => e.instance === instance.id || e.kind === 'gap') : events}
        empty="Nothing in the history for this service yet."
      />
    </section>
  );
}
