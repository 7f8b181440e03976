import type { CatalogSessions, SessionFollow } from '../catalog/index.js';
import type { Logger } from '../config/index.js';

/**
 * Whether this server's node holds a session, followed from the sessions the store keeps (the
 * same signal health's liveness turns into `serfHealth`). Anti-entropy sets `serfHealth` back to
 * passing only while it is up; when it is down, liveness owns that check's status.
 */
export class OwnSession {
  private follow: SessionFollow | undefined;
  private live = false;

  constructor(
    private readonly sessions: Pick<CatalogSessions, 'watch'>,
    private readonly node: string,
    private readonly logger: Logger,
    /** Called when the session comes up (again). */
    private readonly onUp: () => void,
  ) {}

  get up(): boolean {
    return this.live;
  }

  async start(): Promise<void> {
    this.follow = await this.sessions.watch({
      changed: (changes) => {
        for (const c of changes) if (c.node === this.node) this.set(c.up);
      },
      reloaded: (live) => this.set(live.has(this.node)),
      broken: (err) => this.logger.warn({ err }, 'anti-entropy: session watch failed; listing the sessions again'),
    });
    this.set(this.follow.initial.has(this.node));
  }

  stop(): void {
    this.follow?.cancel();
  }

  private set(up: boolean): void {
    const was = this.live;
    this.live = up;
    if (up && !was) this.onUp();
  }
}
