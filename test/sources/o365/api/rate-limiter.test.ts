import { strict as assert } from 'node:assert';
import { RateLimiter } from '../../../../src/sources/o365/api/rate-limiter';

function fakeTime() {
  let t = 1_000_000;
  const slept: number[] = [];
  return {
    clock: () => t,
    sleep: async (ms: number) => {
      slept.push(ms);
      t += ms;
    },
    slept,
    advance: (ms: number) => (t += ms),
  };
}

describe('api/rate-limiter', () => {
  it('allows a burst, then paces requests to the per-minute budget', async () => {
    const ft = fakeTime();
    const rl = new RateLimiter({ requestsPerMinute: 600, burst: 5, clock: ft.clock, sleep: ft.sleep });
    const start = ft.clock();
    for (let i = 0; i < 5; i++) await rl.acquire();
    assert.equal(ft.slept.length, 0);
    for (let i = 0; i < 20; i++) await rl.acquire();
    // 20 more requests at 10/s need 2 s of (fake) time.
    assert.equal(ft.clock() - start, 2000);
  });

  it('never exceeds the budget over a minute', async () => {
    const ft = fakeTime();
    const rl = new RateLimiter({ requestsPerMinute: 120, clock: ft.clock, sleep: ft.sleep });
    const start = ft.clock();
    let n = 0;
    while (ft.clock() - start < 60_000) {
      await rl.acquire();
      if (ft.clock() - start < 60_000) n++;
    }
    // burst (12) + 120 per minute refill
    assert.ok(n <= 12 + 120, `sent ${n}`);
    assert.ok(n >= 120, `sent ${n}`);
  });

  it('refills over time up to the burst size only', async () => {
    const ft = fakeTime();
    const rl = new RateLimiter({ requestsPerMinute: 60, burst: 3, clock: ft.clock, sleep: ft.sleep });
    for (let i = 0; i < 3; i++) await rl.acquire();
    ft.advance(60_000);
    assert.equal(rl.available(), 3);
  });

  it('serves concurrent waiters in order', async () => {
    const ft = fakeTime();
    const rl = new RateLimiter({ requestsPerMinute: 60, burst: 1, clock: ft.clock, sleep: ft.sleep });
    const order: number[] = [];
    await Promise.all([0, 1, 2, 3].map((i) => rl.acquire().then(() => order.push(i))));
    assert.deepEqual(order, [0, 1, 2, 3]);
  });

  it('rejects a waiter when its signal aborts, without blocking the next', async () => {
    const ft = fakeTime();
    const rl = new RateLimiter({ requestsPerMinute: 60, burst: 1, clock: ft.clock, sleep: ft.sleep });
    await rl.acquire();
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(rl.acquire(ac.signal), (e: { code?: string }) => e.code === 'API_NETWORK');
    await rl.acquire();
  });
});
