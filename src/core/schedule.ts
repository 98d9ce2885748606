/**
 * Fairness between tenants: at most `capacity` tenants are served at a time, and a free slot goes to
 * the tenant that lags most (its oldest waiting work is the oldest), not to the next in config order.
 * Served 4 at a time in config order, the last of 50 equal tenants finished 1.6 × later than the
 * median one (bench scenario 5); served by lag, they move forward together.
 *
 * The unit of work is one blob (or one window) of one content type; `lagMs` is how old it is
 * (now − its contentCreated). A tenant holding a slot runs its content types side by side as today;
 * it keeps the slot while it has work in hand, and its further work enters without waiting unless a
 * tenant that lags more is waiting: then that work waits its turn, the tenant's work in hand finishes,
 * the slot frees, and the most lagging waiting tenant gets it. No tenant starves: one that waits only
 * grows older, and the oldest wins.
 *
 * Knows neither O365 nor the forward protocol: keys are opaque strings.
 */

/** A unit of work waiting for a slot. */
export interface WaitingWork {
  /** The tenant (any opaque key). */
  key: string;
  /** How far behind this work is, in ms (larger = served first). */
  lagMs: number;
  /** Arrival order: breaks ties, first come first served. */
  seq: number;
}

/**
 * Index in `waiting` of the work to serve next: the largest lag, ties to the earliest arrival;
 * -1 when nothing waits. NaN lags count as 0 (never ahead of a real lag). Pure.
 */
export function pickMostLagging(waiting: readonly WaitingWork[]): number {
  let best = -1;
  let bestLag = 0;
  let bestSeq = 0;
  for (let i = 0; i < waiting.length; i++) {
    const w = waiting[i];
    const lag = Number.isNaN(w.lagMs) ? 0 : w.lagMs;
    if (best < 0 || lag > bestLag || (lag === bestLag && w.seq < bestSeq)) {
      best = i;
      bestLag = lag;
      bestSeq = w.seq;
    }
  }
  return best;
}

const lagOf = (w: { lagMs: number }): number => (Number.isNaN(w.lagMs) ? 0 : w.lagMs);

/**
 * Whether work of `key` with `lagMs` may start now without waiting. Pure.
 * - Its tenant holds a slot: yes, unless work of another tenant waits with more lag.
 * - Otherwise: when a slot is free and no tenant without a slot waits with more lag.
 */
export function mayEnter(key: string, lagMs: number, freeSlots: number, waiting: readonly WaitingWork[], holds: (key: string) => boolean): boolean {
  const lag = Number.isNaN(lagMs) ? 0 : lagMs;
  if (holds(key)) {
    for (const w of waiting) if (w.key !== key && lagOf(w) > lag) return false;
    return true;
  }
  if (freeSlots <= 0) return false;
  for (const w of waiting) if (!holds(w.key) && lagOf(w) > lag) return false;
  return true;
}

interface Waiter extends WaitingWork {
  resolve: (release: () => void) => void;
}

/** Slots for tenants, handed out by lag. Bounded: at most one waiter per unit of work asked for. */
export class LagScheduler {
  /** Tenants holding a slot → units of work in hand. */
  private readonly holders = new Map<string, number>();
  private readonly waiting: Waiter[] = [];
  private seq = 0;
  private readonly holds = (key: string): boolean => this.holders.has(key);

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError('scheduler capacity must be >= 1');
  }

  /**
   * Waits until `key` may do one unit of work `lagMs` old; resolves with its release (call it once,
   * when the unit is done). An aborted signal resolves at once with a no-op release: the caller's loop
   * checks the signal itself and winds down (as limits.sleep does).
   */
  enter(key: string, lagMs: number, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.resolve(noop);
    if (mayEnter(key, lagMs, this.capacity - this.holders.size, this.waiting, this.holds)) return Promise.resolve(this.admit(key));
    return new Promise((resolve) => {
      const w: Waiter = { key, lagMs, seq: this.seq++, resolve };
      this.waiting.push(w);
      signal?.addEventListener(
        'abort',
        () => {
          const i = this.waiting.indexOf(w);
          if (i >= 0) {
            this.waiting.splice(i, 1);
            resolve(noop);
          }
        },
        { once: true },
      );
    });
  }

  /** Tenants holding a slot now (for tests and metrics). */
  get active(): number {
    return this.holders.size;
  }

  get queued(): number {
    return this.waiting.length;
  }

  private admit(key: string): () => void {
    this.holders.set(key, (this.holders.get(key) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.leave(key);
    };
  }

  private leave(key: string): void {
    const n = (this.holders.get(key) ?? 1) - 1;
    if (n > 0) {
      this.holders.set(key, n);
      return;
    }
    this.holders.delete(key);
    this.grant();
  }

  /** Free slots go to the most lagging waiting tenants; all of a chosen tenant's waiting work enters. */
  private grant(): void {
    while (this.holders.size < this.capacity) {
      const candidates = this.waiting.filter((w) => !this.holders.has(w.key));
      const i = pickMostLagging(candidates);
      if (i < 0) break;
      this.admitAllOf(candidates[i].key);
    }
    if (this.waiting.length === 0) return;
    // Work of a tenant with a slot that waited because another lagged more may go once none does.
    // The two largest lags of different tenants tell, for any tenant, the largest of the others.
    let k1: string | undefined;
    let l1 = -Infinity;
    let l2 = -Infinity;
    for (const w of this.waiting) {
      const lag = lagOf(w);
      if (lag > l1) {
        if (w.key !== k1) l2 = l1;
        k1 = w.key;
        l1 = lag;
      } else if (w.key !== k1 && lag > l2) l2 = lag;
    }
    for (const w of [...this.waiting]) {
      if (this.holders.has(w.key) && lagOf(w) >= (w.key === k1 ? l2 : l1)) this.take(w);
    }
  }

  private admitAllOf(key: string): void {
    for (const w of this.waiting.filter((x) => x.key === key)) this.take(w);
  }

  private take(w: Waiter): void {
    const i = this.waiting.indexOf(w);
    if (i < 0) return;
    this.waiting.splice(i, 1);
    w.resolve(this.admit(w.key));
  }
}

function noop(): void {
  // released already, or never admitted (aborted)
}
