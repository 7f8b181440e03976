import { errorText, type ClientLogger } from '../logger.js';

/** What the shutdown hook needs of `process` (tests pass a fake). */
export interface SignalTarget {
  readonly pid: number;
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  removeListener(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  listenerCount(signal: NodeJS.Signals): number;
  kill(pid: number, signal: NodeJS.Signals): unknown;
}

/**
 * Runs `onSignal` (deregistration) when one of `signals` arrives, without swallowing the signal:
 * the hook removes itself, and once `onSignal` settles (or `timeoutMs` passes) it re-raises the
 * signal if nobody else listens for it — so the process ends exactly as it would have by default
 * (killed by that signal). If the application has its own listener, that listener was called as
 * usual and decides when to exit; a second signal meanwhile gets the default behaviour. Returns a
 * function that removes the hook.
 */
export function installShutdownHook(
  signals: readonly NodeJS.Signals[],
  onSignal: (signal: NodeJS.Signals) => Promise<void>,
  opts: { timeoutMs: number; log: ClientLogger; target?: SignalTarget },
): () => void {
  const target: SignalTarget = opts.target ?? process;
  let installed = true;
  const uninstall = () => {
    if (!installed) return;
    installed = false;
    for (const s of signals) target.removeListener(s, handler);
  };
  function handler(signal: NodeJS.Signals): void {
    uninstall();
    opts.log('info', 'signal received, deregistering before exit', { signal });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        opts.log('warn', 'deregistration did not finish in time', { signal, timeoutMs: opts.timeoutMs });
        resolve();
      }, opts.timeoutMs);
    });
    Promise.race([onSignal(signal), timeout])
      .catch((err: unknown) => opts.log('error', 'deregistration on signal failed', { signal, error: errorText(err) }))
      .finally(() => {
        clearTimeout(timer);
        if (target.listenerCount(signal) === 0) target.kill(target.pid, signal);
      });
  }
  for (const s of signals) target.on(s, handler);
  return uninstall;
}
