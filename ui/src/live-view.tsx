import { useEffect, useState } from 'preact/hooks';
import { loadEvents, mergeEvents, Unreachable, type BeaconEvent } from './api';
import { Timeline } from './common';
import { live } from './live';

const KEEP = 300;

/** Every event as it comes, newest first (the last 300). */
export function LiveView() {
  const [events, setEvents] = useState<BeaconEvent[]>([]);
  useEffect(() => {
    let alive = true;
    loadEvents({})
      .then((ev) => alive && setEvents((l) => mergeEvents(l, ev, KEEP)))
      .catch((err: unknown) => err instanceof Unreachable && live.lost());
    const off = live.onEvent((e) => setEvents((l) => mergeEvents(l, [e], KEEP)));
    return () => {
      alive = false;
      off();
    };
  }, []);
  return (
    <section>
      <h1>Live</h1>
      <p class="muted">Every change as the server applies it: registrations, check transitions, node liveness, maintenance.</p>
      <Timeline events={events} empty="Nothing has happened yet." />
    </section>
  );
}
