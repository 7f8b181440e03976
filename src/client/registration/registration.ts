import { backoffDelay, jitter } from '../backoff.js';
import { errorText, type ClientLogger } from '../logger.js';
import { parseJson, unexpectedStatus, type RegistryResponse, type RegistryTransport } from '../transport/index.js';
import type { ServiceDefinition } from './service-definition.js';

/** True when the registry's answer says it does not know the instance or its check. */
export function saysUnknown(res: RegistryResponse): boolean {
  if (res.status === 404) return true;
  if (res.status !== 500 && res.status !== 400) return false;
  const code = res.headers['x-beacon-error'];
  if (code === 'BEACON_ERR_CHECK_NOT_TTL' || code === 'BEACON_ERR_NOT_FOUND') return true;
  return /does not have associated TTL|unknown (service|check)|does not exist|not found/i.test(res.text);
}

/** Settings for keeping registrations alive. */
export interface KeepAliveOptions {
  /** How often to check that an instance without a TTL check is still registered, in ms. */
  readonly verifyMs: number;
  readonly log: ClientLogger;
  readonly random?: () => number;
}

/**
 * One registered instance, kept alive: for a TTL check, a heartbeat (`PUT
 * /v1/agent/check/pass/:id`) every third of the TTL with ±10 % jitter; otherwise a periodic
 * look-up in the catalog. If the registry answers that it does not know the instance or its
 * check (a server restored from older state), the instance is registered again.
 *
 * @example
 * const reg = await beacon.register({ name: 'web', port: 8080, check: { ttl: '15s' } });
 * await reg.deregister();
 */
export class Registration {
  readonly id: string;
  readonly name: string;
  readonly #def: ServiceDefinition;
  readonly #transport: RegistryTransport;
  readonly #opts: KeepAliveOptions;
  readonly #onGone: (reg: Registration) => void;
  #timer: NodeJS.Timeout | undefined;
  #active = false;
  #failures = 0;
  #deregistering: Promise<void> | undefined;
  /** How many times the instance was registered again after the registry forgot it. */
  reregistrations = 0;

  constructor(def: ServiceDefinition, transport: RegistryTransport, opts: KeepAliveOptions, onGone: (reg: Registration) => void) {
    this.#def = def;
    this.id = def.id;
    this.name = def.name;
    this.#transport = transport;
    this.#opts = opts;
    this.#onGone = onGone;
  }

  /** Registers the instance and starts keeping it alive. */
  async start(): Promise<void> {
    await this.#register();
    this.#active = true;
    this.#schedule(this.#period());
  }

  /** Whether the keep-alive loop runs (false once deregistered or stopped). */
  get active(): boolean {
    return this.#active;
  }

  /** Stops keep-alive and removes the instance from the registry. Idempotent. */
  deregister(): Promise<void> {
    this.#deregistering ??= (async () => {
      this.stop();
      this.#onGone(this);
      const res = await this.#transport.request({ method: 'PUT', path: `/v1/agent/service/deregister/${encodeURIComponent(this.id)}` });
      if (res.status !== 200 && res.status !== 404) throw unexpectedStatus(res, `deregistering ${this.id}`);
      this.#opts.log('info', 'service deregistered', { id: this.id });
    })();
    return this.#deregistering;
  }

  /** Stops keep-alive without deregistering (the check will expire on its own). */
  stop(): void {
    this.#active = false;
    clearTimeout(this.#timer);
  }

  async #register(): Promise<void> {
    const res = await this.#transport.request({ method: 'PUT', path: '/v1/agent/service/register', body: this.#def.body });
    if (res.status !== 200) throw unexpectedStatus(res, `registering ${this.id}`);
  }

  #period(): number {
    const random = this.#opts.random ?? Math.random;
    return this.#def.ttlMs !== undefined ? jitter(this.#def.ttlMs / 3, 0.1, random) : jitter(this.#opts.verifyMs, 0.1, random);
  }

  #schedule(ms: number): void {
    if (!this.#active) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#tick(), ms);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    if (!this.#active) return;
    try {
      const known = this.#def.ttlMs !== undefined ? await this.#heartbeat() : await this.#stillRegistered();
      if (!this.#active) return;
      if (!known) {
        this.#opts.log('warn', 'registry does not know this instance any more, registering again', { id: this.id });
        await this.#register();
        this.reregistrations += 1;
        if (this.#def.ttlMs !== undefined) await this.#heartbeat();
      }
      this.#failures = 0;
      this.#schedule(this.#period());
    } catch (err) {
      const random = this.#opts.random ?? Math.random;
      const ceiling = this.#def.ttlMs !== undefined ? this.#def.ttlMs / 3 : this.#opts.verifyMs;
      const delay = Math.min(ceiling, backoffDelay(this.#failures, { baseMs: Math.min(500, ceiling / 4), maxMs: ceiling }, random));
      this.#failures += 1;
      this.#opts.log('warn', 'keep-alive failed, retrying', { id: this.id, inMs: Math.round(delay), error: errorText(err) });
      this.#schedule(delay);
    }
  }

  /** Sends one heartbeat; false when the registry does not know the check. */
  async #heartbeat(): Promise<boolean> {
    const res = await this.#transport.request({ method: 'PUT', path: `/v1/agent/check/pass/${encodeURIComponent(this.#def.checkId!)}` });
    if (res.status === 200) return true;
    if (saysUnknown(res)) return false;
    throw unexpectedStatus(res, `heartbeat of ${this.id}`);
  }

  /** Looks the instance up in the catalog; false when it is not there. */
  async #stillRegistered(): Promise<boolean> {
    const res = await this.#transport.request({ method: 'GET', path: `/v1/catalog/service/${encodeURIComponent(this.name)}` });
    if (res.status !== 200) throw unexpectedStatus(res, `looking up ${this.id}`);
    const list = parseJson(res);
    return Array.isArray(list) && list.some((e) => (e as { ServiceID?: unknown })?.ServiceID === this.id);
  }
}
