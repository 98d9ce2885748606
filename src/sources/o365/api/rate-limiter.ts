/**
 * Per-tenant token bucket keeping the client under the documented request budget (baseline
 * 2,000 requests/minute per tenant) so 429s stay rare. Waiters are served in arrival order.
 */
import { realSleep, abortError } from '../../../net/retry';

export interface RateLimiterOptions {
  requestsPerMinute: number;
  /** Bucket size: requests allowed back to back. Default a tenth of the per-minute budget (≥ 1). */
  burst?: number;
  clock?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Default share of the 2,000/min tenant baseline: leaves room for other tools reading the tenant. */
export const DEFAULT_REQUESTS_PER_MINUTE = 1500;

export class RateLimiter {
  private readonly ratePerMs: number;
  private readonly capacity: number;
  private readonly clock: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private tokens: number;
  private last: number;
  private tail: Promise<void> = Promise.resolve();
  private blockedUntil = 0;

  constructor(opts: RateLimiterOptions) {
    if (!(opts.requestsPerMinute > 0)) throw new RangeError('requestsPerMinute must be > 0');
    this.ratePerMs = opts.requestsPerMinute / 60_000;
    this.capacity = Math.max(1, opts.burst ?? Math.floor(opts.requestsPerMinute / 10));
    this.clock = opts.clock ?? Date.now;
    this.sleep = opts.sleep ?? realSleep;
    this.tokens = this.capacity;
    this.last = this.clock();
  }

  private refill(): void {
    const now = this.clock();
    if (now > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + (now - this.last) * this.ratePerMs);
      this.last = now;
    }
  }

  /** Tokens available now (for tests and metrics). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  /**
   * Holds every request of the tenant for `ms` (after the API throttled one of them): concurrent
   * callers wait together instead of each spending a request to learn the same thing.
   */
  pauseFor(ms: number): void {
    this.blockedUntil = Math.max(this.blockedUntil, this.clock() + ms);
  }

  /** Resolves when a request may be sent; FIFO among concurrent callers. */
  acquire(signal?: AbortSignal): Promise<void> {
    const turn = this.tail.then(async () => {
      for (;;) {
        if (signal?.aborted) throw abortError();
        const blocked = this.blockedUntil - this.clock();
        if (blocked > 0) {
          await this.sleep(blocked, signal);
          continue;
        }
        this.refill();
        if (this.tokens >= 1) {
          this.tokens -= 1;
          return;
        }
        await this.sleep(Math.max(1, Math.ceil((1 - this.tokens) / this.ratePerMs)), signal);
      }
    });
    // The next waiter queues behind this one whether it succeeds or aborts.
    this.tail = turn.catch(() => undefined);
    return turn;
  }
}
