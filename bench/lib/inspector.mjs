// Talks to a child started with `node --inspect=127.0.0.1:0` over the DevTools protocol:
// force a full garbage collection and read V8 heap usage, to measure memory once it settled,
// and take CPU profiles of a chosen window (start-up excluded).
import { WebSocket } from 'undici';

/** Connects to the inspector whose URL the child printed ("Debugger listening on ws://..."). */
export async function connectInspector(output, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  let m;
  while (!(m = output().match(/Debugger listening on (ws:\/\/\S+)/))) {
    if (Date.now() > deadline) throw new Error('the child printed no inspector URL (started without --inspect?)');
    await new Promise((r) => setTimeout(r, 50));
  }
  const ws = new WebSocket(m[1]);
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve, { once: true });
    ws.addEventListener('error', () => reject(new Error(`cannot connect to the inspector at ${m[1]}`)), { once: true });
  });
  let id = 0;
  const pending = new Map();
  ws.addEventListener('message', (ev) => {
    const msg = JSON.parse(ev.data);
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(msg.error.message));
    else p.resolve(msg.result);
  });
  const call = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const msgId = ++id;
      pending.set(msgId, { resolve, reject });
      ws.send(JSON.stringify({ id: msgId, method, params }));
    });
  return {
    /** A full, forced garbage collection. */
    gc: () => call('HeapProfiler.collectGarbage'),
    /** { usedSize, totalSize } of the V8 heap, in bytes. */
    heapUsage: () => call('Runtime.getHeapUsage'),
    /** Starts the V8 CPU profiler (sampling every `intervalUs`). */
    async startProfile(intervalUs = 200) {
      await call('Profiler.enable');
      await call('Profiler.setSamplingInterval', { interval: intervalUs });
      await call('Profiler.start');
    },
    /** Stops the profiler; resolves the .cpuprofile object (see cpu-profile.mjs). */
    async stopProfile() {
      const { profile } = await call('Profiler.stop');
      return profile;
    },
    close: () => ws.close(),
  };
}
