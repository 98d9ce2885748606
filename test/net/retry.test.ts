import { strict as assert } from 'node:assert';
import { BridgeError } from '../../src/errors';
import { backoffDelay, parseRetryAfter, retryDelay, withRetry } from '../../src/net/retry';

const throttled = (retryAfterMs?: number) =>
  new BridgeError('API_THROTTLED', 'throttled', { retryable: true, details: retryAfterMs !== undefined ? { retryAfterMs } : {} });

describe('api/retry', () => {
  it('parses Retry-After as seconds or HTTP-date', () => {
    const now = Date.parse('2025-03-10T12:00:00Z');
    assert.equal(parseRetryAfter('5', now), 5000);
    assert.equal(parseRetryAfter('0.5', now), 500);
    assert.equal(parseRetryAfter(['3'], now), 3000);
    assert.equal(parseRetryAfter('Mon, 10 Mar 2025 12:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Mon, 10 Mar 2025 11:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });

  it('backs off exponentially with bounded jitter', () => {
    const lo = (a: number) => backoffDelay(a, { baseDelayMs: 100, maxDelayMs: 10_000 }, () => 0);
    const hi = (a: number) => backoffDelay(a, { baseDelayMs: 100, maxDelayMs: 10_000 }, () => 0.999999);
    assert.deepEqual([0, 1, 2, 3].map(lo), [50, 100, 200, 400]);
    assert.deepEqual([0, 1, 2, 3].map(hi), [100, 200, 400, 800]);
    assert.equal(hi(30), 10_000);
    assert.equal(lo(30), 5_000);
  });

  it('never waits less than Retry-After (capped)', () => {
    assert.equal(retryDelay(throttled(9000), 0, { random: () => 0 }), 9000);
    assert.equal(retryDelay(throttled(10 * 60_000), 0, { random: () => 0, maxRetryAfterMs: 60_000 }), 60_000);
    // Throttled without Retry-After: a longer first step (quotas are per minute).
    assert.equal(retryDelay(throttled(), 0, { random: () => 0, throttleBaseDelayMs: 4000 }), 2000);
    // With Retry-After, the server's word replaces the guess (plus the ordinary backoff floor).
    assert.equal(retryDelay(throttled(1000), 0, { random: () => 0, throttleBaseDelayMs: 4000, baseDelayMs: 100 }), 1000);
    const server = new BridgeError('API_SERVER', 'x', { retryable: true });
    assert.equal(retryDelay(server, 0, { random: () => 0, baseDelayMs: 100 }), 50);
  });

  it('retries retryable errors until success, honouring the computed delays', async () => {
    const delays: number[] = [];
    let calls = 0;
    const out = await withRetry(
      async () => {
        calls++;
        if (calls < 3) throw throttled(2000);
        return 'ok';
      },
      { sleep: async (ms) => void delays.push(ms), random: () => 0, throttleBaseDelayMs: 100 },
    );
    assert.equal(out, 'ok');
    assert.equal(calls, 3);
    assert.deepEqual(delays, [2000, 2000]);
  });

  it('fails at once on a non-retryable error', async () => {
    let calls = 0;
    await assert.rejects(
      withRetry(
        async () => {
          calls++;
          throw new BridgeError('API_FORBIDDEN', 'no', { retryable: false });
        },
        { sleep: async () => undefined },
      ),
      (e: BridgeError) => e.code === 'API_FORBIDDEN' && e.details.attempts === 1,
    );
    assert.equal(calls, 1);
  });

  it('gives up after maxAttempts with the last error', async () => {
    let calls = 0;
    await assert.rejects(
      withRetry(
        async () => {
          calls++;
          throw new BridgeError('API_SERVER', `boom ${calls}`, { retryable: true });
        },
        { sleep: async () => undefined, maxAttempts: 4 },
      ),
      (e: BridgeError) => e.message === 'boom 4' && e.details.attempts === 4,
    );
    assert.equal(calls, 4);
  });

  it('stops when aborted', async () => {
    const ac = new AbortController();
    let calls = 0;
    await assert.rejects(
      withRetry(
        async () => {
          calls++;
          ac.abort();
          throw throttled();
        },
        { sleep: async () => undefined, signal: ac.signal },
      ),
      (e: BridgeError) => e.code === 'API_THROTTLED',
    );
    assert.equal(calls, 1);
  });
});
