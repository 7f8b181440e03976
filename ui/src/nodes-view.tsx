import { useEffect, useState } from 'preact/hooks';
import { loadEvents, mergeEvents, Unreachable, worst, type BeaconEvent } from './api';
import { Badge, Meta, Timeline } from './common';
import { live } from './live';
import { href } from './router';
import { useSnapshot } from './snapshot';

/** A node's liveness: its serfHealth check, or the worst of its node checks. */
function liveness(checks: { Status: string; CheckID: string }[]): string {
  const serf = checks.find((c) => c.CheckID === 'serfHealth');
  return serf ? serf.Status : checks.length > 0 ? worst(checks.map((c) => c.Status)) : 'unknown';
}

export function NodesView({ name }: { name?: string }) {
  const { snapshot, error } = useSnapshot();
  const [events, setEvents] = useState<BeaconEvent[]>([]);
  useEffect(() => {
    if (!name) return;
    let alive = true;
    loadEvents({ node: name })
      .then((ev) => alive && setEvents((l) => mergeEvents(l, ev)))
      .catch((err: unknown) => err instanceof Unreachable && live.lost());
    const off = live.onEvent((e) => e.node === name && setEvents((l) => mergeEvents(l, [e])));
    return () => {
      alive = false;
      off();
    };
  }, [name]);
  if (!snapshot) return <section>{error ? <p class="error">{error}</p> : <p class="muted">Loading…</p>}</section>;
  const nodes = name ? snapshot.nodes.filter((n) => n.Node === name) : snapshot.nodes;
  return (
    <section>
      {name && (
        <p class="crumbs">
          <a href={href.nodes()}>Nodes</a> / {name}
        </p>
      )}
      <h1>{name ?? 'Nodes'}</h1>
      {nodes.length === 0 && <p class="muted">{name ? 'No such node.' : 'No nodes.'}</p>}
      <div class="scroll">
        <table class="nodes">
          <thead>
            <tr>
              <th>Node</th>
              <th>Address</th>
              <th>Liveness</th>
              <th>Metadata</th>
              <th>Services</th>
            </tr>
          </thead>
          <tbody>
            {nodes.map((n) => {
              const checks = snapshot.checks.filter((c) => c.Node === n.Node && !c.ServiceID);
              const services = snapshot.instances.filter((i) => i.Node === n.Node);
              const l = liveness(checks);
              return (
                <tr key={n.Node} data-node={n.Node} class={`row-${l === 'maintenance' ? 'critical' : l}`}>
                  <td>
                    <a href={href.node(n.Node)}>{n.Node}</a>
                  </td>
                  <td>
                    <code>{n.Address}</code>
                  </td>
                  <td>
                    <Badge status={l} />
                  </td>
                  <td>
                    <Meta meta={n.Meta} />
                  </td>
                  <td>
                    {services.length === 0 ? (
                      <span class="muted">none</span>
                    ) : (
                      <span class="tags">
                        {services.map((s) => (
                          <a class="tag" key={s.ID} href={href.instance(s.Service, n.Node, s.ID)}>
                            {s.ID === s.Service ? s.Service : `${s.Service} (${s.ID})`}
                          </a>
                        ))}
                      </span>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {name && (
        <>
          <h2>History</h2>
          <Timeline events={events} empty="Nothing in the history for this node yet." />
        </>
      )}
    </section>
  );
}
