import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

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
}
