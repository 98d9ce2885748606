/**
 * Retry policy: network errors, timeouts, 5xx, 429 and AF429 (which arrives as HTTP 403) are
 * retried with exponential backoff and jitter, never sooner than the server's `Retry-After`.
 * Everything else fails at once. Clock, sleep and randomness are injectable for tests.
 */
import { BridgeError } from '../errors';

export interface RetryOptions {
  /** Total attempts including the first. Default 8. */
  maxAttempts?: number;
  /** First backoff step. Default 500 ms. */
  baseDelayMs?: number;
  /** Cap of one computed backoff. Default 60 s. */
  maxDelayMs?: number;
  /** First backoff step when throttled without `Retry-After` (quotas are per minute). Default 5 s. */
  throttleBaseDelayMs?: number;
  /** Cap of a server-requested `Retry-After`. Default 5 minutes. */
  maxRetryAfterMs?: number;
  /** Resolves after `ms` (rejects when `signal` aborts). Default a real timer. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Uniform [0, 1). Default Math.random. */
  random?: () => number;
}

export const DEFAULT_RETRY = { maxAttempts: 8, baseDelayMs: 500, throttleBaseDelayMs: 5_000, maxDelayMs: 60_000, maxRetryAfterMs: 5 * 60_000 } as const;

/** `Retry-After` as delta-seconds or an HTTP-date → ms from now; undefined when absent or unreadable. */
export function parseRetryAfter(value: unknown, nowMs: number): number | undefined {
  if (Array.isArray(value)) value = value[0];
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const s = String(value).trim();
  if (s === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(parseFloat(s) * 1000);
  const t = Date.parse(s);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - nowMs);
}

/** "Equal jitter": half the exponential step fixed, half random, so delays grow but never align. */
export function backoffDelay(attempt: number, opts: { baseDelayMs?: number; maxDelayMs?: number } = {}, random: () => number = Math.random): number {
  const base = opts.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs;
  const max = opts.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs;
  const step = Math.min(max, base * 2 ** Math.min(attempt, 30));
  return Math.round(step / 2 + random() * (step / 2));
}

/** The wait before retry number `attempt` (0-based) after `err`: backoff, raised to Retry-After. */
export function retryDelay(err: BridgeError, attempt: number, opts: RetryOptions = {}): number {
  const ra = typeof err.details.retryAfterMs === 'number' ? err.details.retryAfterMs : undefined;
  // Throttled without Retry-After (AF429 over 403): we must guess, and quotas are per minute.
  const base = err.code === 'API_THROTTLED' && ra === undefined ? opts.throttleBaseDelayMs ?? DEFAULT_RETRY.throttleBaseDelayMs : opts.baseDelayMs;
  const backoff = backoffDelay(attempt, { ...opts, baseDelayMs: base }, opts.random);
  if (ra === undefined) return backoff;
  return Math.max(backoff, Math.min(ra, opts.maxRetryAfterMs ?? DEFAULT_RETRY.maxRetryAfterMs));
}

export function realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(abortError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function abortError(): BridgeError {
  return new BridgeError('API_NETWORK', 'request aborted (shutting down)', { retryable: false, details: { aborted: true } });
}

/**
 * Runs `fn` until it succeeds, fails with a non-retryable BridgeError, or attempts run out (the
 * last error is rethrown, with `attempts` added to its details).
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  opts: RetryOptions & { signal?: AbortSignal; onRetry?: (err: BridgeError, attempt: number, delayMs: number) => void } = {},
): Promise<T> {
  const max = Math.max(1, opts.maxAttempts ?? DEFAULT_RETRY.maxAttempts);
  const sleep = opts.sleep ?? realSleep;
  for (let attempt = 0; ; attempt++) {
    if (opts.signal?.aborted) throw abortError();
    try {
      return await fn(attempt);
    } catch (err) {
      if (!(err instanceof BridgeError) || !err.retryable || attempt + 1 >= max || opts.signal?.aborted) {
        if (err instanceof BridgeError) (err.details as Record<string, unknown>).attempts = attempt + 1;
        throw err;
      }
      const delay = retryDelay(err, attempt, opts);
      opts.onRetry?.(err, attempt + 1, delay);
      await sleep(delay, opts.signal);
    }
  }
}
