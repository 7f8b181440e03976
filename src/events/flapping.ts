/** A check flaps when it changes status more than this many times within the window. */
export const FLAP_THRESHOLD = 4;
/** The window flapping is judged over. */
export const FLAP_WINDOW_MS = 10 * 60_000;

/**
 * Counts each check's status transitions over a sliding window. Bounded: a check keeps at most
 * threshold + 1 timestamps, and checks with nothing left in the window are swept out.
 */
export class FlapTracker {
  private readonly seen = new Map<string, number[]>();
  private sinceSweep = 0;

  constructor(
    private readonly threshold = FLAP_THRESHOLD,
    private readonly windowMs = FLAP_WINDOW_MS,
  ) {}

  /** Records a transition of check `key` at `time`; answers whether the check is now flapping. */
  transition(key: string, time: number): boolean {
    const from = time - this.windowMs;
    let list = this.seen.get(key);
    if (!list) this.seen.set(key, (list = []));
    list.push(time);
    while (list.length > 0 && list[0] <= from) list.shift();
    if (list.length > this.threshold + 1) list.splice(0, list.length - this.threshold - 1);
    if (++this.sinceSweep >= 1024) this.sweep(time);
    return list.length > this.threshold;
  }

  /** Whether check `key` is flapping at `time` (the UI's mark). */
  flapping(key: string, time: number): boolean {
    const list = this.seen.get(key);
    if (!list) return false;
    let n = 0;
    for (const t of list) if (t > time - this.windowMs) n++;
    return n > this.threshold;
  }

  forget(key: string): void {
    this.seen.delete(key);
  }

  clear(): void {
    this.seen.clear();
  }

  get size(): number {
    return this.seen.size;
  }

  private sweep(time: number): void {
    this.sinceSweep = 0;
    for (const [k, list] of this.seen) if (list.length === 0 || list[list.length - 1] <= time - this.windowMs) this.seen.delete(k);
  }
}
