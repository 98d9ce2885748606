/** A counting semaphore: the one primitive that bounds every queue in the pipeline. */
export class Semaphore {
  private available: number;
  private readonly waiters: Array<() => void> = [];

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError('semaphore capacity must be >= 1');
    this.available = capacity;
  }

  async acquire(): Promise<void> {
    if (this.available > 0) {
      this.available--;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.available++;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  get inUse(): number {
    return this.capacity - this.available;
  }
}

/**
 * Sleep that an AbortSignal cuts short. Resolves, never rejects (unlike api/retry's realSleep, which
 * rejects so a request fails): the pipeline's loops check the signal themselves and wind down.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Time (and jitter) as the pipeline sees it: injected so the simulation (test/sim) runs thousands of schedules on a
 * virtual clock with no real timer. `sleep` resolves, never rejects, and ends early on the signal.
 */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Uniform [0, 1), for backoff jitter (seeded in the simulation). */
  random(): number;
}

export const realClock: Clock = { now: () => Date.now(), sleep, random: Math.random };
