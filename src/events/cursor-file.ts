import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { hold, type BeaconEvent, type HeldEvent } from './types.js';

/**
 * A sink's position, kept in the data directory: the revision of the last event the sink
 * delivered, and what it delivers to (a cursor of another URL is not taken over).
 */
export class CursorFile {
  constructor(
    readonly path: string,
    private readonly target: string,
  ) {}

  /** The persisted revision, or undefined when there is none for this target (or it is unreadable). */
  load(): number | undefined {
    try {
      const v = JSON.parse(readFileSync(this.path, 'utf8')) as { target?: unknown; revision?: unknown };
      if (v.target !== this.target || typeof v.revision !== 'number' || !Number.isSafeInteger(v.revision) || v.revision < 0) return undefined;
      return v.revision;
    } catch {
      return undefined;
    }
  }

  /** Writes atomically (a temporary file renamed over the old one). */
  save(revision: number): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify({ target: this.target, revision }));
    renameSync(tmp, this.path);
  }

  private get spoolPath(): string {
    return `${this.path}.spool`;
  }

  /** Events the last run could not deliver (kept at its stop), or none. */
  loadSpool(): { events: HeldEvent[]; applied: number } {
    const none = { events: [], applied: 0 };
    let text: string;
    try {
      text = readFileSync(this.spoolPath, 'utf8');
    } catch {
      return none;
    }
    const events: HeldEvent[] = [];
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    let applied = 0;
    try {
      const head = JSON.parse(lines[0] ?? '{}') as { target?: unknown; applied?: unknown };
      if (head.target !== this.target || typeof head.applied !== 'number') return none;
      applied = head.applied;
      for (const l of lines.slice(1)) events.push(hold(JSON.parse(l) as BeaconEvent));
    } catch {
      return { events, applied: events.at(-1)?.event.revision ?? 0 };
    }
    return { events, applied };
  }

  /** Keeps `events` (and the revision applied when they were kept) for the next start; none removes the spool. */
  saveSpool(events: readonly HeldEvent[], applied: number): void {
    if (events.length === 0) {
      rmSync(this.spoolPath, { force: true });
      return;
    }
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.spoolPath}.tmp`;
    writeFileSync(tmp, [JSON.stringify({ target: this.target, applied }), ...events.map((e) => e.json)].join('\n') + '\n');
    renameSync(tmp, this.spoolPath);
  }
}
