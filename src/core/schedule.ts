/**
 * Fairness between tenants: at most `capacity` tenants work (talk to the API) at a time, and a free
 * slot goes to the tenant that lags most, not to the next in config order. Served 4 at a time in
 * config order, the last of 50 equal tenants finished 1.5–1.6 × later than the median one (bench
 * scenario `tenants`); served by lag, they move forward together.
 *
 * The unit of work is one step of a tenant's pass that talks to the API: its start (subscriptions,
 * and the first token), the listing of one window, one blob. Each unit says how old the content it is
 * about is (`oldestMs`, ms since the epoch: a blob's contentCreated, a window's start): the smaller,
 * the more the tenant lags. Timestamps, not "now − t" ages: an age taken when a unit starts waiting
 * goes stale while it waits, a timestamp compares the same at any time.
 *
 * A tenant holding a slot runs its content types side by side and keeps the slot while it has units
 * in hand; a further unit of it enters at once unless a unit of another tenant waits that comes first.
 * Then it waits: the tenant's units in hand finish (one blob at most each), the slot frees, and the
 * first waiting tenant gets it. So a long pass (a week of backlog) never holds a slot for more than a
 * unit while others wait.
 *
 * Starvation: by lag alone, a tenant that is up to date waits while others catch up to its point
 * (hours, for a week of backlog on every slot). A unit that has waited `maxWaitMs` comes before any
 * unit that has not, longest wait first; so no tenant waits much longer than that for its turn.
 *
 * Deterministic: ties go to the earliest arrival. Knows neither O365 nor the forward protocol: keys
 * are opaque strings. Bounded: one waiter per unit asked for (each caller asks for one at a time).
 */

/** A unit of work waiting for a slot. */
export interface WaitingWork {
  /** The tenant (any opaque key). */
  key: string;
  /** Time of the oldest content this unit is about, ms since the epoch (smaller = served first). NaN = unknown. */
  oldestMs: number;
  /** Arrival order: breaks ties, first come first served. */
  seq: number;
  /** When it began to wait (clock ms). */
  since: number;
}

const oldestOf = (w: { oldestMs: number }): number => (Number.isNaN(w.oldestMs) ? Infinity : w.oldestMs);

/**
 * Whether `a` is served before `b` at `now`: a unit that waited `maxWaitMs` before one that did not
 * (longest wait first among those), otherwise the older content first; ties to the earlier arrival.
 * An unknown (NaN) age never comes before a known one. Pure.
 */
export function comesFirst(a: WaitingWork, b: WaitingWork, now: number, maxWaitMs: number): boolean {
  const agedA = now - a.since >= maxWaitMs;
  const agedB = now - b.since >= maxWaitMs;
  if (agedA !== agedB) return agedA;
  if (agedA && a.since !== b.since) return a.since < b.since;
  const oa = oldestOf(a);
  const ob = oldestOf(b);
  if (oa !== ob) return oa < ob;
  return a.seq < b.seq;
}

/** Index in `waiting` of the unit to serve first; -1 when nothing waits. Pure. */
export function pickFirst(waiting: readonly WaitingWork[], now: number, maxWaitMs: number): number {
  let best = -1;
  for (let i = 0; i < waiting.length; i++) if (best < 0 || comesFirst(waiting[i], waiting[best], now, maxWaitMs)) best = i;
  return best;
}

/** The first waiting unit overall, and the first of a tenant other than its tenant. Pure. */
export function firstTwo<W extends WaitingWork>(waiting: readonly W[], now: number, maxWaitMs: number): [W | undefined, W | undefined] {
  const first = waiting[pickFirst(waiting, now, maxWaitMs)] as W | undefined;
  if (!first) return [undefined, undefined];
  const others = waiting.filter((w) => w.key !== first.key);
  return [first, others[pickFirst(others, now, maxWaitMs)]];
}

export interface SchedulerOptions {
  /** Tenants working at a time (poll.tenantConcurrency). */
  capacity: number;
  /** Time for the starvation bound (a fake one in tests). */
  now?: () => number;
  /** A unit that has waited this long comes before any that has not. Default: no bound (lag only). */
  maxWaitMs?: number;
}

interface Waiter extends WaitingWork {
  resolve: (release: () => void) => void;
  signal?: AbortSignal;
}

/** Slots for tenants, handed out by lag, with a bound on how long a unit waits. */
export class TenantScheduler {
  /** Tenants holding a slot → units of work in hand. */
  private readonly holders = new Map<string, number>();
  private readonly waiting: Waiter[] = [];
  private seq = 0;
  /** One abort listener per signal (a thousand waiters on the bridge's stop signal would pass Node's listener warning), removed once its waiters are gone. */
  private readonly bySignal = new Map<AbortSignal, { waiters: Set<Waiter>; onAbort: () => void }>();
  readonly capacity: number;
  private readonly now: () => number;
  private readonly maxWaitMs: number;

  constructor(o: SchedulerOptions) {
    if (!(o.capacity >= 1)) throw new RangeError('scheduler capacity must be >= 1');
    this.capacity = o.capacity;
    this.now = o.now ?? Date.now;
    this.maxWaitMs = o.maxWaitMs ?? Infinity;
  }

  /**
   * Waits until `key` may do one unit of work about content from `oldestMs`; resolves with its release
   * (call it once, when the unit is done). An aborted signal resolves at once with a no-op release:
   * the caller's loop checks the signal itself and winds down (as limits.sleep does).
   *
   * `previous`: the release of the caller's unit just done, handed over: released after this unit
   * is let in when it may go at once (the slot is not let go between two units of a tenant that still
   * comes first), before it waits otherwise (so the slot can go to whoever comes first).
   */
  enter(key: string, oldestMs: number, signal?: AbortSignal, previous?: () => void): Promise<() => void> {
    if (signal?.aborted) {
      previous?.();
      return Promise.resolve(noop);
    }
    const now = this.now();
    const w: Waiter = { key, oldestMs, seq: this.seq++, since: now, resolve: () => undefined };
    if (this.mayEnter(w, now)) {
      const release = this.admit(key);
      previous?.();
      return Promise.resolve(release);
    }
    return new Promise((resolve) => {
      w.resolve = resolve;
      if (signal) this.watch(w, signal);
      this.waiting.push(w);
      previous?.();
    });
  }

  private watch(w: Waiter, signal: AbortSignal): void {
    w.signal = signal;
    let entry = this.bySignal.get(signal);
    if (!entry) {
      const waiters = new Set<Waiter>();
      const onAbort = () => {
        this.bySignal.delete(signal);
        for (const x of waiters) {
          const i = this.waiting.indexOf(x);
          if (i >= 0) this.waiting.splice(i, 1);
          x.resolve(noop);
        }
        this.grant(); // they may have been what held a holder's unit back
      };
      entry = { waiters, onAbort };
      this.bySignal.set(signal, entry);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    entry.waiters.add(w);
  }

  private unwatch(w: Waiter): void {
    if (!w.signal) return;
    const entry = this.bySignal.get(w.signal);
    if (!entry) return;
    entry.waiters.delete(w);
    if (entry.waiters.size === 0) {
      w.signal.removeEventListener('abort', entry.onAbort);
      this.bySignal.delete(w.signal);
    }
  }

  /** `enter` bound to one tenant and signal (what a poller is given). */
  forTenant(key: string, signal?: AbortSignal): (oldestMs: number, previous?: () => void) => Promise<() => void> {
    return (oldestMs, previous) => this.enter(key, oldestMs, signal, previous);
  }

  /** Tenants holding a slot now (for tests and metrics). */
  get active(): number {
    return this.holders.size;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Abort listeners this scheduler has on signals now (for tests: none left once nothing waits). */
  get listeners(): number {
    return this.bySignal.size;
  }

  /**
   * A unit of a tenant holding a slot goes unless a unit of another tenant waits that comes first; one
   * of a tenant without a slot goes when a slot is free and no tenant without a slot waits that comes first.
   */
  private mayEnter(w: Waiter, now: number): boolean {
    if (this.holders.has(w.key)) {
      for (const o of this.waiting) if (o.key !== w.key && comesFirst(o, w, now, this.maxWaitMs)) return false;
      return true;
    }
    if (this.holders.size >= this.capacity) return false;
    for (const o of this.waiting) if (!this.holders.has(o.key) && comesFirst(o, w, now, this.maxWaitMs)) return false;
    return true;
  }

  private admit(key: string): () => void {
    this.holders.set(key, (this.holders.get(key) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.holders.get(key) ?? 1) - 1;
      if (n > 0) this.holders.set(key, n);
      else this.holders.delete(key);
      this.grant();
    };
  }

  /**
   * Free slots go to the tenants whose waiting unit comes first, each with all its waiting units; then
   * units of holders go that no other tenant's waiting unit comes before.
   */
  private grant(): void {
    if (this.waiting.length === 0) return;
    const now = this.now();
    while (this.holders.size < this.capacity) {
      const candidates = this.waiting.filter((w) => !this.holders.has(w.key));
      const i = pickFirst(candidates, now, this.maxWaitMs);
      if (i < 0) break;
      const key = candidates[i].key;
      for (const w of this.waiting.filter((x) => x.key === key)) this.take(w);
    }
    // Until nothing changes: a unit let in no longer holds back the units it came before.
    for (let taken = true; taken && this.waiting.length > 0; ) {
      taken = false;
      const [first, second] = firstTwo(this.waiting, now, this.maxWaitMs);
      for (const w of this.waiting.filter((x) => this.holders.has(x.key))) {
        const rival = first && first.key !== w.key ? first : second;
        if (!rival || !comesFirst(rival, w, now, this.maxWaitMs)) {
          this.take(w);
          taken = true;
        }
      }
    }
  }

  private take(w: Waiter): void {
    const i = this.waiting.indexOf(w);
    if (i < 0) return;
    this.waiting.splice(i, 1);
    this.unwatch(w);
    w.resolve(this.admit(w.key));
  }
}

function noop(): void {
  // released already, or never admitted (aborted)
}
