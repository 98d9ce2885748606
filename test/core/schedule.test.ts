import { strict as assert } from 'node:assert';
import { comesFirst, firstTwo, pickFirst, TenantScheduler, type WaitingWork } from '../../src/core/schedule';

const flush = () => new Promise<void>((r) => setImmediate(r));

/** A fake clock: time moves only when a test says so. */
function fakeClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

const w = (key: string, oldestMs: number, seq: number, since = 0): WaitingWork => ({ key, oldestMs, seq, since });

describe('tenant scheduling by lag', () => {
  describe('comesFirst / pickFirst', () => {
    it('puts the older content first, ties to the earliest arrival, -1 when nothing waits', () => {
      assert.equal(pickFirst([], 0, Infinity), -1);
      const ws = [w('a', 500, 0), w('b', 100, 1), w('c', 100, 2), w('d', 900, 3)];
      assert.equal(pickFirst(ws, 0, Infinity), 1);
      assert.equal(pickFirst([ws[2], ws[1]], 0, Infinity), 1, 'the earlier arrival wins a tie whatever its position');
    });

    it('never puts an unknown (NaN) age ahead of a known one', () => {
      assert.equal(pickFirst([w('a', NaN, 0), w('b', 1e15, 1)], 0, Infinity), 1);
      assert.equal(pickFirst([w('a', NaN, 0)], 0, Infinity), 0);
      assert.equal(comesFirst(w('a', NaN, 0), w('b', NaN, 1), 0, Infinity), true, 'two unknowns: arrival order');
    });

    it('puts a unit that waited maxWaitMs before any that did not, the longest wait first', () => {
      const now = 10_000;
      const fresh = w('old', 1, 0, now - 10); // very old content, but it just arrived
      const waitedLong = w('new', 9_000, 1, now - 5_000);
      const waitedLonger = w('newer', 9_500, 2, now - 6_000);
      assert.equal(comesFirst(waitedLong, fresh, now, 5_000), true, 'waited its bound: before older content');
      assert.equal(comesFirst(waitedLong, fresh, now, 5_001), false, 'not yet');
      assert.equal(pickFirst([fresh, waitedLong, waitedLonger], now, 5_000), 2);
    });

    it('firstTwo: the first unit, and the first of another tenant', () => {
      const ws = [w('a', 5, 0), w('a', 1, 1), w('b', 7, 2), w('c', 6, 3)];
      const [first, second] = firstTwo(ws, 0, Infinity);
      assert.deepEqual([first?.key, first?.oldestMs, second?.key], ['a', 1, 'c']);
      assert.deepEqual(firstTwo([w('a', 1, 0)], 0, Infinity).map((x) => x?.key), ['a', undefined]);
      assert.deepEqual(firstTwo([], 0, Infinity), [undefined, undefined]);
    });
  });

  describe('TenantScheduler', () => {
    it('refuses a capacity below 1', () => {
      assert.throws(() => new TenantScheduler({ capacity: 0 }), RangeError);
    });

    it('serves at most `capacity` tenants, and a freed slot goes to the most lagging waiting one', async () => {
      const s = new TenantScheduler({ capacity: 2 });
      const ra = await s.enter('a', 100);
      const rb = await s.enter('b', 100);
      assert.equal(s.active, 2);
      const order: string[] = [];
      const c = s.enter('c', 900).then((r) => (order.push('c'), r));
      const d = s.enter('d', 10).then((r) => (order.push('d'), r));
      const e = s.enter('e', 50).then((r) => (order.push('e'), r));
      await flush();
      assert.deepEqual(order, [], 'nobody enters while both slots are held');
      assert.equal(s.queued, 3);
      ra();
      await flush();
      assert.deepEqual(order, ['d'], 'the oldest content first, not the first to ask');
      rb();
      await flush();
      assert.deepEqual(order, ['d', 'e']);
      (await d)();
      await flush();
      assert.deepEqual(order, ['d', 'e', 'c']);
      assert.equal(s.active, 2, 'never more than the capacity');
      (await e)();
      (await c)();
      assert.equal(s.active, 0);
      assert.equal(s.queued, 0);
    });

    it("runs a tenant's concurrent work side by side on one slot", async () => {
      const s = new TenantScheduler({ capacity: 1 });
      const r1 = await s.enter('a', 20);
      const r2 = await s.enter('a', 10);
      assert.equal(s.active, 1);
      r1();
      assert.equal(s.active, 1, 'still holds: work in hand');
      r2();
      assert.equal(s.active, 0);
    });

    it('makes a holder wait its turn when a tenant lagging more is waiting, then hands the slot over', async () => {
      const s = new TenantScheduler({ capacity: 1 });
      const a1 = await s.enter('a', 1000);
      let bIn = false;
      const b = s.enter('b', 10).then((r) => ((bIn = true), r));
      let a2In = false;
      const a2 = s.enter('a', 990).then((r) => ((a2In = true), r));
      await flush();
      assert.equal(a2In, false, 'b lags more: a finishes what it has in hand, starts no more');
      a1();
      await flush();
      assert.equal(bIn, true);
      assert.equal(a2In, false);
      (await b)();
      await flush();
      assert.equal(a2In, true, 'a gets the slot back once b is done');
      (await a2)();
      assert.equal(s.active, 0);
    });

    it('lets a holder go on when the unit that held it back is let in elsewhere', async () => {
      // a and b hold the two slots; b's unit (older) waits behind c (older still, no slot); a's waits too.
      const s = new TenantScheduler({ capacity: 2 });
      const a1 = await s.enter('a', 500);
      const b1 = await s.enter('b', 500);
      const c = s.enter('c', 1);
      let a2In = false;
      const a2 = s.enter('a', 600).then((r) => ((a2In = true), r));
      b1(); // b's slot goes to c: nothing without a slot waits now, so a may go on
      await flush();
      (await c)();
      await flush();
      assert.equal(a2In, true);
      a1();
      (await a2)();
      assert.equal(s.active, 0);
    });

    it('lets all of a chosen tenant’s waiting work in at once', async () => {
      const s = new TenantScheduler({ capacity: 1 });
      const x = await s.enter('x', 1);
      const got: number[] = [];
      const ws = [s.enter('a', 5), s.enter('a', 7), s.enter('a', 6)].map((p, i) => p.then((r) => (got.push(i), r)));
      x();
      await flush();
      assert.deepEqual(got.sort(), [0, 1, 2]);
      for (const p of ws) (await p)();
      assert.equal(s.active, 0);
    });

    it('a release called twice frees once', async () => {
      const s = new TenantScheduler({ capacity: 1 });
      const r1 = await s.enter('a', 1);
      const r2 = await s.enter('a', 1);
      r1();
      r1();
      assert.equal(s.active, 1, 'the second unit of a is still in hand');
      r2();
      assert.equal(s.active, 0);
    });

    it('an abort resolves a waiter with a no-op release and takes it out of the queue', async () => {
      const s = new TenantScheduler({ capacity: 1 });
      const held = await s.enter('a', 1);
      const ac = new AbortController();
      const waiting = s.enter('b', 0, ac.signal);
      assert.equal(s.queued, 1);
      ac.abort();
      const r = await waiting;
      assert.equal(s.queued, 0);
      r();
      assert.equal(s.active, 1, "b's no-op release did not free a's slot");
      held();
      assert.equal(s.active, 0);
      assert.equal(s.listeners, 0);
      const again = await s.enter('c', 1, ac.signal);
      assert.equal(s.active, 0, 'an already aborted signal admits nothing');
      again();
    });

    it('keeps one abort listener per signal, removed once its waiters are let in (no leak across passes)', async () => {
      const s = new TenantScheduler({ capacity: 1 });
      const ac = new AbortController();
      let added = 0;
      let removed = 0;
      const add = ac.signal.addEventListener.bind(ac.signal);
      const remove = ac.signal.removeEventListener.bind(ac.signal);
      ac.signal.addEventListener = ((...a: Parameters<typeof add>) => (added++, add(...a))) as typeof add;
      ac.signal.removeEventListener = ((...a: Parameters<typeof remove>) => (removed++, remove(...a))) as typeof remove;
      const held = await s.enter('a', 1, ac.signal);
      const ws = Array.from({ length: 50 }, (_, i) => s.enter(`t${i}`, i, ac.signal));
      assert.equal(added, 1, 'one listener for 50 waiters');
      assert.equal(s.listeners, 1);
      held();
      for (const p of ws) (await p)();
      assert.equal(s.queued, 0);
      assert.equal(s.listeners, 0);
      assert.equal(removed, 1);
    });

    it('an aborted waiter no longer holds a holder back', async () => {
      const s = new TenantScheduler({ capacity: 1 });
      const a1 = await s.enter('a', 100);
      const ac = new AbortController();
      void s.enter('b', 1, ac.signal);
      let a2In = false;
      const a2 = s.enter('a', 200).then((r) => ((a2In = true), r));
      await flush();
      assert.equal(a2In, false);
      ac.abort();
      await flush();
      assert.equal(a2In, true);
      a1();
      (await a2)();
    });

    it("moves equal tenants forward together: each one's oldest work is served before anyone's newer work", async () => {
      // 6 tenants, 2 slots, each with 5 blobs created at 100, 200, …, 500 (oldest first), one at a time.
      const s = new TenantScheduler({ capacity: 2 });
      const served: Array<[string, number]> = [];
      const tenant = async (key: string) => {
        for (const at of [100, 200, 300, 400, 500]) {
          const release = await s.enter(key, at);
          served.push([key, at]);
          await flush();
          release();
        }
      };
      await Promise.all(['t0', 't1', 't2', 't3', 't4', 't5'].map(tenant));
      const ats = served.map(([, a]) => a);
      for (const at of [100, 200, 300]) {
        const lastOf = ats.lastIndexOf(at);
        const firstNewer = ats.indexOf(at + 200);
        if (firstNewer >= 0) assert.ok(lastOf < firstNewer, `all blobs of ${at} before any of ${at + 200}: ${ats.join(',')}`);
      }
      assert.equal(served.length, 30);
    });

    it('is deterministic: the same requests give the same order (ties in arrival order)', async () => {
      const run = async () => {
        const s = new TenantScheduler({ capacity: 2 });
        const order: string[] = [];
        const tenant = async (key: string) => {
          for (let i = 0; i < 3; i++) {
            const release = await s.enter(key, i * 100); // every tenant's content equally old
            order.push(`${key}${i}`);
            await flush();
            release();
          }
        };
        await Promise.all(['a', 'b', 'c', 'd', 'e'].map(tenant));
        return order.join(' ');
      };
      const first = await run();
      assert.equal(await run(), first);
      assert.ok(first.startsWith('a0 b0'), `config order on a tie: ${first}`);
    });

    it('starves nobody: a tenant up to date gets a slot within maxWaitMs while others catch up on a backlog', async () => {
      const clock = fakeClock();
      const s = new TenantScheduler({ capacity: 1, now: clock.now, maxWaitMs: 60_000 });
      // A backlogged tenant: its content is days old, so by lag alone it would keep the slot for hours.
      const backlog = { at: clock.now() - 3 * 86_400_000 };
      let stop = false;
      const served: string[] = [];
      // Two blob workers: the tenant always has a unit in hand, so its slot never frees by itself.
      const worker = async () => {
        while (!stop) {
          const release = await s.enter('behind', backlog.at);
          served.push('behind');
          backlog.at += 60_000; // the next blob is a minute later
          clock.advance(5_000); // each blob takes 5 s
          await flush();
          release();
        }
      };
      const behind = Promise.all([worker(), worker()]);
      await flush();
      const liveSince = clock.now();
      let liveIn = -1;
      let liveAt = 0;
      const live = s.enter('live', clock.now() - 1000).then((r) => ((liveIn = served.length), (liveAt = clock.now()), r));
      while (liveIn < 0 && served.length < 200) await flush();
      assert.ok(liveIn >= 0, 'the live tenant was served');
      assert.ok(liveAt - liveSince >= 60_000, `lag first: not before it waited its bound (${liveAt - liveSince} ms)`);
      assert.ok(liveAt - liveSince <= 70_000, `then at once: after the units in hand (${liveAt - liveSince} ms, ${liveIn} backlog units)`);
      stop = true;
      (await live)();
      await behind;
    });
  });
});
