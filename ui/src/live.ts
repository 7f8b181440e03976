// Follows /v1/beacon/events with EventSource (which reconnects by itself and resumes with
// Last-Event-ID) and says whether the page is in contact with the server.
import type { BeaconEvent } from './api';

export type Contact = 'connecting' | 'up' | 'lost' | 'back';

type Listener = (e: BeaconEvent) => void;
type ContactListener = (c: Contact, since: number) => void;

export class Live {
  contact: Contact = 'connecting';
  since = Date.now();
  private es: EventSource | undefined;
  private readonly listeners = new Set<Listener>();
  private readonly contactListeners = new Set<ContactListener>();
  private backTimer: number | undefined;

  /** Starts following after revision `after` (the index of the state the page loaded). */
  start(after: number): void {
    if (this.es) return;
    const es = new EventSource(`/v1/beacon/events?since=${after}`);
    this.es = es;
    es.onopen = () => {
      if (this.contact === 'lost') {
        this.set('back');
        clearTimeout(this.backTimer);
        this.backTimer = window.setTimeout(() => this.contact === 'back' && this.set('up'), 5000);
      } else if (this.contact === 'connecting') this.set('up');
    };
    es.onerror = () => {
      if (this.contact !== 'lost') this.set('lost');
    };
    es.onmessage = (m: MessageEvent<string>) => {
      let e: BeaconEvent;
      try {
        e = JSON.parse(m.data) as BeaconEvent;
      } catch {
        return;
      }
      for (const l of this.listeners) l(e);
    };
    // A reader dropped for falling behind: EventSource reconnects from its last id by itself.
    es.addEventListener('dropped', () => undefined);
  }

  /** A read failed: the server is unreachable even if the stream has not noticed yet. */
  lost(): void {
    if (this.contact !== 'lost') this.set('lost');
  }

  private set(c: Contact): void {
    this.contact = c;
    this.since = Date.now();
    for (const l of this.contactListeners) l(c, this.since);
  }

  onEvent(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  onContact(l: ContactListener): () => void {
    this.contactListeners.add(l);
    return () => this.contactListeners.delete(l);
  }
}

export const live = new Live();
