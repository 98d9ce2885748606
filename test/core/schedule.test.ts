import { strict as assert } from 'node:assert';
import { LagScheduler, mayEnter, pickMostLagging, type WaitingWork } from '../../src/core/schedule';

const flush = () => new Promise<void>((r) => setImmediate(r));

describe('tenant scheduling by lag', () => {
  describe('pickMostLagging', () => {
    it('picks the largest lag, ties to the earliest arrival, -1 when empty', () => {
      assert.equal(pickMostLagging([]), -1);
      const w: WaitingWork[] = [
        { key: 'a', lagMs: 10, seq: 0 },
        { key: 'b', lagMs: 30, seq: 1 },
        { key: 'c', lagMs: 30, seq: 2 },
        { key: 'd', lagMs: 5, seq: 3 },
      ];
      assert.equal(pickMostLagging(w), 1);
      assert.equal(pickMostLagging([w[2], w[1]]), 1, 'the earlier arrival wins a tie whatever its position');
    });

    it('never puts a NaN lag ahead of a real one', () => {
      assert.equal(pickMostLagging([{ key: 'a', lagMs: NaN, seq: 0 }, { key: 'b', lagMs: 1, seq: 1 }]), 1);
      assert.equal(pickMostLagging([{ key: 'a', lagMs: NaN, seq: 0 }]), 0);
    });
  });

  describe('mayEnter', () => {
    const holds = (set: string[]) => (k: string) => set.includes(k);
    it('lets a tenant with a slot go on unless another waits with more lag', () => {
      assert.equal(mayEnter('a', 10, 0, [], holds(['a'])), true);
      assert.equal(mayEnter('a', 10, 0, [{ key: 'a', lagMs: 99, seq: 0 }], holds(['a'])), true, 'its own waiting work does not block it');
      assert.equal(mayEnter('a', 10, 0, [{ key: 'b', lagMs: 11, seq: 0 }], holds(['a'])), false);
      assert.equal(mayEnter('a', 10, 0, [{ key: 'b', lagMs: 10, seq: 0 }], holds(['a'])), true, 'an equal lag does not preempt');
    });

    it('lets a tenant without a slot in only when one is free and nobody without a slot lags more', () => {
      assert.equal(mayEnter('a', 10, 0, [], holds([])), false);
      assert.equal(mayEnter('a', 10, 1, [], holds([])), true);
      assert.equal(mayEnter('a', 10, 1, [{ key: 'b', lagMs: 20, seq: 0 }], holds([])), false);
      assert.equal(mayEnter('a', 10, 1, [{ key: 'b', lagMs: 20, seq: 0 }], holds(['b'])), true, 'b already has a slot');
    });
  });

  describe('LagScheduler', () => {
    it('refuses a capacity below 1', () => {
      assert.throws(() => new LagScheduler(0), RangeError);
    });

    it('serves at most `capacity` tenants, and a freed slot goes to the most lagging waiting one', async () => {
      const s = new LagScheduler(2);
      const ra = await s.enter('a', 100);
      const rb = await s.enter('b', 100);
      assert.equal(s.active, 2);
      const order: string[] = [];
      const c = s.enter('c', 50).then((r) => (order.push('c'), r));
      const d = s.enter('d', 500).then((r) => (order.push('d'), r));
      const e = s.enter('e', 200).then((r) => (order.push('e'), r));
      await flush();
      assert.deepEqual(order, [], 'nobody enters while both slots are held');
      assert.equal(s.queued, 3);
      ra();
      await flush();
      assert.deepEqual(order, ['d'], 'the most lagging first, not the first to ask');
      rb();
      await flush();
      assert.deepEqual(order, ['d', 'e']);
      (await d)();
      await flush();
      assert.deepEqual(order, ['d', 'e', 'c']);
      (await e)();
      (await c)();
      assert.equal(s.active, 0);
      assert.equal(s.queued, 0);
    });

    it("runs a tenant's concurrent work side by side on one slot", async () => {
      const s = new LagScheduler(1);
      const r1 = await s.enter('a', 10);
      const r2 = await s.enter('a', 20);
      assert.equal(s.active, 1);
      r1();
      assert.equal(s.active, 1, 'still holds: work in hand');
      r2();
      assert.equal(s.active, 0);
    });

    it('makes a holder wait its turn when a tenant lagging more is waiting, then hands the slot over', async () => {
      const s = new LagScheduler(1);
      const a1 = await s.enter('a', 10);
      let bIn = false;
      const b = s.enter('b', 1000).then((r) => ((bIn = true), r));
      let a2In = false;
      const a2 = s.enter('a', 20).then((r) => ((a2In = true), r));
      await flush();
      assert.equal(a2In, false, 'b lags more: a finishes what it has, no more');
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

    it('lets all of a chosen tenant’s waiting work in at once', async () => {
      const s = new LagScheduler(1);
      const x = await s.enter('x', 1);
      const got: number[] = [];
      const ws = [s.enter('a', 5), s.enter('a', 7), s.enter('a', 6)].map((p, i) => p.then((r) => (got.push(i), r)));
      x();
      await flush();
      assert.deepEqual(got.sort(), [0, 1, 2]);
      for (const w of ws) (await w)();
      assert.equal(s.active, 0);
    });

    it('a release called twice frees once', async () => {
      const s = new LagScheduler(1);
      const r1 = await s.enter('a', 1);
      const r2 = await s.enter('a', 1);
      r1();
      r1();
      assert.equal(s.active, 1, 'the second unit of a is still in hand');
      r2();
      assert.equal(s.active, 0);
    });

    it('an abort resolves a waiter with a no-op release and takes it out of the queue', async () => {
      const s = new LagScheduler(1);
      const held = await s.enter('a', 1);
      const ac = new AbortController();
      const w = s.enter('b', 99, ac.signal);
      assert.equal(s.queued, 1);
      ac.abort();
      const r = await w;
      assert.equal(s.queued, 0);
      r();
      assert.equal(s.active, 1, "b's no-op release did not free a's slot");
      held();
      assert.equal(s.active, 0);
      const again = await s.enter('c', 1, ac.signal);
      assert.equal(s.active, 0, 'an already aborted signal admits nothing');
      again();
    });

    it('moves equal tenants forward together: each one\'s oldest work is served before anyone\'s newer work', async () => {
      // 6 tenants, 2 slots, each with 5 blobs of ages 500, 400, …, 100 (oldest first), one blob at a time.
      const s = new LagScheduler(2);
      const served: Array<[string, number]> = [];
      const tenant = async (key: string) => {
        for (const age of [500, 400, 300, 200, 100]) {
          const release = await s.enter(key, age);
          served.push([key, age]);
          await flush();
          release();
        }
      };
      await Promise.all(['t0', 't1', 't2', 't3', 't4', 't5'].map(tenant));
      // Served age never jumps back up by more than one step: no tenant runs far ahead of another.
      const ages = served.map(([, a]) => a);
      for (const age of [500, 400, 300, 200]) {
        const lastOfAge = ages.lastIndexOf(age);
        const firstYounger = ages.indexOf(age - 200);
        if (firstYounger >= 0) assert.ok(lastOfAge < firstYounger, `all blobs of age ${age} before any of age ${age - 200}: ${ages.join(',')}`);
      }
      assert.equal(served.length, 30);
    });
  });
});
