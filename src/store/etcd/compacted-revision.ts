/**
 * etcd's compacted revision, which its API does not report: the oldest revision still readable.
 *
 * A read at a revision below it fails "required revision has been compacted", so it is found by
 * reading at chosen revisions (of one key that need not exist): the last value found is checked
 * first (one read, the usual case), and only when the store was compacted since is the new
 * value searched for between it and the current revision (about log2 of the distance reads).
 * Compactions made through this store, and the compact revision etcd reports to a watch, move
 * the known value forward without a read.
 */
export class CompactedRevision {
  private known = 0;

  constructor(
    /** Whether the store can still be read at `revision` (a read there did not answer "compacted"). */
    private readonly readableAt: (revision: number) => Promise<boolean>,
  ) {}

  /** etcd compacted up to at least `revision`. */
  note(revision: number): void {
    if (revision > this.known) this.known = revision;
  }

  /** The compacted revision, given the current one (0 if the store was never compacted). */
  async find(current: number): Promise<number> {
    const floor = Math.max(1, this.known);
    if (floor >= current || (await this.readableAt(floor))) return this.known;
    // Unreadable at `lo`, readable at `hi` (the current revision always is).
    let lo = floor;
    let hi = current;
    while (hi - lo > 1) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (await this.readableAt(mid)) hi = mid;
      else lo = mid;
    }
    this.note(hi);
    return hi;
  }
}
