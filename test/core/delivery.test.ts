import { strict as assert } from 'node:assert';
import type { EncodedBatch, OutEvent, Sink } from '../../src/contracts';
import { BridgeError } from '../../src/errors';
import { memoryLogger, silentLogger } from '../../src/obs/log';
import { Delivery, LINGER_MS, type BatchReport, type DeliveryOptions } from '../../src/core/delivery';
import { DeliveredIds } from '../../src/core/dedup';
import { makeReducer } from '../../src/core/rejects';
import type { Clock } from '../../src/core/limits';

/** A clock whose sleeps end at once (time jumps forward by the wait): no real timer. */
function jumpClock(): Clock & { t: number } {
  const c = { t: 1_000_000, now: () => c.t, random: () => 0.5, sleep: async (ms: number) => void (c.t += ms) };
  return c;
}

/** A clock whose sleeps end only on tick(): what waits on a timer is seen waiting. */
function gateClock(): Clock & { sleeps: number[]; tick: () => void } {
  let wake: Array<() => void> = [];
  const c = {
    sleeps: [] as number[],
    now: () => 1_000_000,
    random: () => 0.5,
    sleep: (ms: number) => {
      c.sleeps.push(ms);
      return new Promise<void>((r) => wake.push(r));
    },
    tick: () => {
      const w = wake;
      wake = [];
      for (const r of w) r();
    },
  };
  return c;
}

const flushMicrotasks = () => new Promise<void>((r) => setImmediate(r));

const ev = (id: string, extra: Record<string, unknown> = {}): OutEvent => ({ tag: 'o365.audit.general.x', time: { sec: 1, nsec: 0 }, record: { Id: id, RecordType: 1, CreationTime: '2024-05-01T00:00:00', Operation: 'Op', ...extra } });

interface Enc extends EncodedBatch {
  ids: string[];
}

/** A sink that refuses events marked `big` at encode time (and reduced ones marked `hopeless`), and fails deliveries as told. */
function fakeSink(failures: Array<BridgeError | null> = []) {
  const acked: string[][] = [];
  let released = 0;
  let held = 0;
  const sink: Sink = {
    encode(events) {
      events.forEach((e, i) => {
        const r = e.record;
        const reduced = !!(r.o365_bridge as { rejected?: unknown } | undefined)?.rejected;
        if ((r.big && !reduced) || (reduced && r.Id === 'hopeless')) throw new BridgeError('SINK_EVENT_TOO_LARGE', 'too large', { details: { index: i, bytes: 5_000_000 } });
      });
      held++;
      const b: Enc = { events: events.length, bytes: 1, ids: events.map((e) => String(e.record.Id)) };
      return b;
    },
    async deliver(b) {
      const f = failures.shift();
      if (f) throw f;
      acked.push((b as Enc).ids);
    },
    release() {
      released++;
      held--;
    },
    close: async () => undefined,
  };
  return { sink, acked, get released() { return released; }, get held() { return held; } };
}

function delivery(sink: Sink, o: Partial<DeliveryOptions> = {}) {
  const unacked: number[] = [];
  const d = new Delivery(sink, {
    maxBatchEvents: 10,
    maxBatchBytes: 1 << 20,
    maxInFlight: 2,
    logger: silentLogger,
    signal: new AbortController().signal,
    clock: jumpClock(),
    reduce: makeReducer({ keep: ['Id', 'RecordType', 'CreationTime', 'Operation'], metaKey: 'o365_bridge', excerptBytes: 100, tag: (e) => 'q.' + e.tag }),
    identify: (e) => ({ recordId: typeof e.record.Id === 'string' ? e.record.Id : null, recordType: 1 }),
    onUnacked: (n) => unacked.push(n),
    ...o,
  });
  return { d, unacked };
}

/** fakeSink, with an encoder (Sink.encoder): the batcher encodes events as they come. */
function streamingSink(failures: Array<BridgeError | null> = []) {
  const f = fakeSink(failures);
  const st = { opened: 0, abandoned: 0 };
  f.sink.encoder = () => {
    st.opened++;
    const held: OutEvent[] = [];
    return {
      add(e: OutEvent) {
        f.sink.encode([e]); // throws as encode does for that event alone
        f.sink.release({ events: 1, bytes: 1 });
        held.push(e);
      },
      get events() {
        return held.length;
      },
      finish: () => f.sink.encode(held),
      abandon: () => void st.abandoned++,
    };
  };
  return { f, st };
}

describe('delivery: three outcomes per batch', () => {
  it('delivered: acknowledged as sent; the unacked gauge goes up and back to 0; the encoded batch is released', async () => {
    const f = fakeSink();
    const { d, unacked } = delivery(f.sink);
    const { done } = await d.dispatch([ev('a'), ev('b')]);
    const r = await done;
    assert.deepEqual(r, { acked: 2, quarantined: 0, lost: [] });
    assert.deepEqual(f.acked, [['a', 'b']]);
    assert.deepEqual(unacked, [2, 0]);
    assert.equal(f.held, 0, 'released');
  });

  it('retry: a transient failure is sent again (the same encoded batch, encoded once) until acknowledged', async () => {
    const f = fakeSink([new BridgeError('SINK_UNREACHABLE', 'down', { retryable: true }), new BridgeError('SINK_ACK_TIMEOUT', 'slow', { retryable: true })]);
    let retries = 0;
    const { d } = delivery(f.sink, { onBatchRetry: () => retries++ });
    const r = await (await d.dispatch([ev('a')])).done;
    assert.equal(r.acked, 1);
    assert.equal(retries, 2);
    assert.equal(f.released, 1, 'encoded once, released once');
  });

  it('rejected: an event too large once encoded goes to the quarantine reduced (Id, type, time, operation, code, size); the rest is delivered', async () => {
    const f = fakeSink();
    const logger = memoryLogger('warn');
    const { d } = delivery(f.sink, { logger });
    const big = ev('big-1', { big: true, Values: [1, 2, 3] });
    const r = await (await d.dispatch([ev('a'), big, ev('c')])).done;
    assert.equal(r.acked, 3);
    assert.equal(r.quarantined, 1);
    assert.deepEqual(r.lost, []);
    assert.deepEqual(f.acked, [['a', 'big-1', 'c']]);
    assert.ok(logger.lines.some((l) => l.includes('SINK_EVENT_TOO_LARGE') && l.includes('big-1')));
  });

  it('rejected even reduced: reported lost with its record Id, never retried, the rest delivered', async () => {
    const f = fakeSink();
    const { d } = delivery(f.sink);
    const r: BatchReport = await (await d.dispatch([ev('a'), ev('hopeless', { big: true })])).done;
    assert.deepEqual(r.lost, [{ recordId: 'hopeless', recordType: 1, code: 'SINK_EVENT_TOO_LARGE' }]);
    assert.equal(r.acked, 1);
    assert.deepEqual(f.acked, [['a']]);
  });

  it('the reduced form keeps the identifying fields and as much of the record as fits', () => {
    const reduce = makeReducer({ keep: ['Id', 'RecordType', 'CreationTime', 'Operation'], metaKey: 'o365_bridge', excerptBytes: 40, tag: () => 'q' });
    const out = reduce(ev('x', { Values: Array.from({ length: 100 }, () => 0.5), o365_bridge: { tenant: 't', errors: [{ a: 1 }] } }), { code: 'SINK_EVENT_TOO_LARGE', message: 'm', bytes: 1234 });
    const r = out.record as Record<string, unknown> & { o365_bridge: Record<string, unknown> };
    assert.equal(out.tag, 'q');
    assert.deepEqual([r.Id, r.RecordType, r.CreationTime, r.Operation], ['x', 1, '2024-05-01T00:00:00', 'Op']);
    assert.equal(r.Values, undefined);
    assert.deepEqual(r.o365_bridge.rejected, { code: 'SINK_EVENT_TOO_LARGE', bytes: 1234, excerptComplete: false });
    assert.equal(r.o365_bridge.tenant, 't');
    assert.equal(Buffer.byteLength(String(r.excerpt)), 40);
  });

  it('give up (run --once): SINK_AUTH at once; the batch and every later dispatch reject with it', async () => {
    const f = fakeSink([new BridgeError('SINK_AUTH', 'wrong key', { retryable: true })]);
    const { d } = delivery(f.sink, { giveUp: { afterMs: 30_000, immediately: new Set(['SINK_AUTH']) } });
    await assert.rejects((await d.dispatch([ev('a')])).done, (e: BridgeError) => e.code === 'SINK_AUTH');
    assert.equal(d.failure?.code, 'SINK_AUTH');
    await assert.rejects(d.dispatch([ev('b')]), (e: BridgeError) => e.code === 'SINK_AUTH');
    assert.deepEqual(f.acked, []);
  });

  it('give up (run --once): an unreachable receiver after afterMs of failed attempts, not before', async () => {
    const down = () => new BridgeError('SINK_UNREACHABLE', 'down', { retryable: true });
    const f = fakeSink(Array.from({ length: 100 }, down));
    const clock = jumpClock();
    let attempts = 0;
    const { d } = delivery(f.sink, { clock, giveUp: { afterMs: 10_000, immediately: new Set() }, onBatchRetry: () => attempts++ });
    const t0 = clock.t;
    await assert.rejects((await d.dispatch([ev('a')])).done, (e: BridgeError) => e.code === 'SINK_UNREACHABLE');
    assert.ok(clock.t - t0 >= 10_000, 'kept trying for afterMs');
    assert.ok(attempts > 2 && attempts < 100, `${attempts} attempts`);
  });

  it('without giveUp (service mode) it keeps retrying; a stop ends it with SINK_CLOSED', async () => {
    const stop = new AbortController();
    let n = 0;
    const sink: Sink = {
      encode: (e) => ({ events: e.length, bytes: 1 }),
      deliver: async () => {
        if (++n === 50) stop.abort();
        throw new BridgeError('SINK_UNREACHABLE', 'down', { retryable: true });
      },
      release: () => undefined,
      close: async () => undefined,
    };
    const { d } = delivery(sink, { signal: stop.signal });
    await assert.rejects((await d.dispatch([ev('a')])).done, (e: BridgeError) => e.code === 'SINK_CLOSED');
    assert.equal(n, 50);
  });
});

describe('delivery: records on their way (claims for de-dup)', () => {
  /** A sink whose deliveries wait until `open()`: the in-flight window stays full meanwhile. */
  function gatedSink() {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const acked: string[][] = [];
    const sink: Sink = {
      encode: (events) => ({ events: events.length, bytes: 1, ids: events.map((e) => String(e.record.Id)) }) as Enc,
      deliver: async (b) => {
        await gate;
        acked.push((b as Enc).ids);
      },
      release: () => undefined,
      close: async () => undefined,
    };
    return { sink, acked, open: () => open() };
  }

  it('a record that starts a new batch (byte bound) is claimed at once, not when the window has room', async () => {
    // Before: the claim came only after the flush found room, so another blob's reader saw the record
    // neither delivered nor on its way and sent its own copy too (a duplicate Microsoft repeats).
    const g = gatedSink();
    const { d } = delivery(g.sink, { maxInFlight: 1, maxBatchBytes: 100 });
    const ids = new DeliveredIds(100);
    const other = await d.dispatch([ev('x')]); // holds the only slot
    const b = d.batcher((sb, r) => r && sb.ids.toArray().forEach((id) => ids.add('t', id)), ids);
    const k1 = ids.key('t', 'r1');
    const k2 = ids.key('t', 'r2');
    assert.equal(b.add(ev('r1'), 60, 0, 'r1', 1, k1), undefined);
    const waiting = b.add(ev('r2'), 60, 1, 'r2', 1, k2);
    assert.ok(waiting, 'the byte bound hands the first batch over');
    const p2 = ids.pending(k2);
    assert.ok(p2, 'r2 is on its way while its batch waits for room');
    assert.ok(ids.pending(k1), 'r1 too');
    g.open();
    await other.done;
    await waiting;
    await b.drain();
    assert.equal(await p2, true);
    assert.ok(ids.hasKey(k1) && ids.hasKey(k2), 'delivered once acknowledged');
    assert.equal(ids.pending(k2), undefined, 'the claim ends with the batch');
    assert.deepEqual(g.acked, [['x'], ['r1'], ['r2']]);
  });

  it('that claim ends as not delivered when the read is abandoned before its batch was sent', async () => {
    const g = gatedSink();
    const stop = new AbortController();
    const { d } = delivery(g.sink, { maxInFlight: 1, maxBatchBytes: 100, signal: stop.signal });
    const ids = new DeliveredIds(100);
    const other = await d.dispatch([ev('x')]);
    const b = d.batcher((sb, r) => r && sb.ids.toArray().forEach((id) => ids.add('t', id)), ids);
    const k2 = ids.key('t', 'r2');
    b.add(ev('r1'), 60, 0, 'r1', 1, ids.key('t', 'r1'));
    const waiting = b.add(ev('r2'), 60, 1, 'r2', 1, k2)!;
    const p2 = ids.pending(k2);
    assert.ok(p2);
    stop.abort(); // the first batch finds the stop when it gets room: never sent
    g.open();
    await other.done.catch(() => undefined);
    await assert.rejects(waiting, (e: BridgeError) => e.code === 'SINK_CLOSED');
    await b.settle();
    // A reader that skipped its copy of r2 learns it was not delivered, and sends its own.
    assert.equal(await p2, false);
    assert.equal(ids.pending(k2), undefined);
    assert.ok(!ids.hasKey(k2));
  });
});

// issue 17: a sink with an encoder gets each event as it is added (the parsed record is not held
// while the batch fills); the outcomes are those of the batch encoded whole.
describe('delivery: batches encoded as they fill', () => {
  it('delivers in batches of maxBatchEvents; a refused event is quarantined reduced, one refused even reduced is lost by Id', async () => {
    const { f, st } = streamingSink();
    const logger = memoryLogger('warn');
    const { d, unacked } = delivery(f.sink, { maxBatchEvents: 3, logger });
    const reports: Array<[number, number, BatchReport | null]> = [];
    const b = d.batcher((sb, r) => reports.push([sb.from, sb.to, r]));
    const evs = [ev('a'), ev('big-1', { big: true }), ev('c'), ev('hopeless', { big: true }), ev('e')];
    for (let i = 0; i < evs.length; i++) await b.add(evs[i], 10, i, String(evs[i].record.Id), 1);
    await b.drain();
    assert.deepEqual(f.acked, [['a', 'big-1', 'c'], ['e']]);
    assert.deepEqual(
      reports.map(([from, to, r]) => [from, to, r && { acked: r.acked, quarantined: r.quarantined, lost: r.lost.map((l) => l.recordId) }]),
      [
        [0, 3, { acked: 3, quarantined: 1, lost: [] }],
        [3, 5, { acked: 1, quarantined: 0, lost: ['hopeless'] }],
      ],
    );
    assert.equal(st.opened, 2, 'one encoder per batch');
    assert.equal(f.held, 0, 'every batch released');
    assert.equal(unacked[unacked.length - 1], 0);
    assert.ok(logger.lines.some((l) => l.includes('SINK_EVENT_TOO_LARGE') && l.includes('big-1')));
  });

  it('a batch whose every event was refused even reduced is settled with its losses, nothing sent', async () => {
    const { f } = streamingSink();
    const { d } = delivery(f.sink);
    let report: BatchReport | null | undefined;
    const b = d.batcher((_sb, r) => (report = r));
    await b.add(ev('hopeless', { big: true }), 10, 0, 'hopeless', 1);
    await b.drain();
    assert.deepEqual(f.acked, []);
    assert.deepEqual(report, { acked: 0, quarantined: 0, lost: [{ recordId: 'hopeless', recordType: 1, code: 'SINK_EVENT_TOO_LARGE' }] });
  });

  it('an abandoned read drops its encoder and settles its batch as not delivered', async () => {
    const { f, st } = streamingSink();
    const { d } = delivery(f.sink);
    const reports: Array<BatchReport | null> = [];
    const b = d.batcher((_sb, r) => reports.push(r));
    await b.add(ev('a'), 10, 0, 'a', 1);
    await b.settle();
    assert.deepEqual(reports, [null]);
    assert.equal(st.abandoned, 1);
    assert.deepEqual(f.acked, []);
  });
});

// A kill -9 must re-send at most the in-flight window: a batch acknowledged but not yet recorded
// (its Ids in the journal) must not let the next batch out. Found by the crash fault scenario
// (31 duplicates against a bound of 30): the slot used to be free before the outcome was told.
describe('delivery: the outcome is told before the slot is free', () => {
  for (const streaming of [false, true]) {
    it(`the next batch reaches the sink only after the previous one was recorded (${streaming ? 'encoded as it fills' : 'encoded whole'})`, async () => {
      const base = streaming ? streamingSink().f : fakeSink();
      const recorded: string[] = [];
      const seenAtDeliver: string[][] = [];
      const deliver = base.sink.deliver.bind(base.sink);
      base.sink.deliver = async (b) => {
        seenAtDeliver.push([...recorded]);
        await deliver(b);
      };
      const { d } = delivery(base.sink, { maxBatchEvents: 2, maxInFlight: 1 });
      const b = d.batcher((sb, r) => r && recorded.push(...sb.ids));
      const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
      for (let i = 0; i < ids.length; i++) await b.add(ev(ids[i]), 10, i, ids[i], 1);
      await b.drain();
      assert.deepEqual(base.acked, [['a', 'b'], ['c', 'd'], ['e', 'f']]);
      assert.deepEqual(seenAtDeliver, [[], ['a', 'b'], ['a', 'b', 'c', 'd']]);
    });
  }
});

// Issue 17: the reads of one (tenant, content type) fill shared batches, so small blobs no longer cap
// the in-flight window, and memory holds one filling batch per lane instead of one per read.
/** Deliveries wait until the returned function is called (acks held back: the window stays full). */
function holdDeliveries(sink: Sink): () => void {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const deliver = sink.deliver.bind(sink);
  sink.deliver = async (x) => {
    await gate;
    return deliver(x);
  };
  return release;
}

describe('delivery: lanes (batches shared by the reads of one tenant and content type)', () => {
  type Rep = [string, number, number, string[], BatchReport | null];

  it('two small blobs fill one batch; each read learns its own part (positions, Ids, counts)', async () => {
    const { f } = streamingSink();
    const { d } = delivery(f.sink, { maxBatchEvents: 4 });
    const lane = d.lane();
    const reports: Rep[] = [];
    const a = lane.batcher((sb, r) => reports.push(['a', sb.from, sb.to, sb.ids.toArray(), r]));
    const b = lane.batcher((sb, r) => reports.push(['b', sb.from, sb.to, sb.ids.toArray(), r]));
    assert.equal(a.add(ev('a0'), 10, 0, 'a0', 1), undefined);
    assert.equal(b.add(ev('b0'), 10, 0, 'b0', 1), undefined);
    assert.equal(a.add(ev('a1'), 10, 1, 'a1', 1), undefined);
    await b.add(ev('b1'), 10, 1, 'b1', 1); // the fourth event: the batch is full and handed over
    await Promise.all([a.drain(), b.drain()]);
    assert.deepEqual(f.acked, [['a0', 'b0', 'a1', 'b1']], 'one batch for both blobs');
    assert.deepEqual(reports.sort(), [
      ['a', 0, 2, ['a0', 'a1'], { acked: 2, quarantined: 0, lost: [] }],
      ['b', 0, 2, ['b0', 'b1'], { acked: 2, quarantined: 0, lost: [] }],
    ]);
  });

  it('a read that ends leaves its events in the filling batch for the next reads: handed over when full, not at each blob end', async () => {
    const { f } = streamingSink();
    const clock = gateClock();
    const { d } = delivery(f.sink, { maxBatchEvents: 3, clock });
    const lane = d.lane();
    const acked: string[] = [];
    const a = lane.batcher((sb, r) => r && acked.push(...sb.ids));
    const b = lane.batcher((sb, r) => r && acked.push(...sb.ids));
    b.add(ev('b0'), 10, 0, 'b0', 1);
    a.add(ev('a0'), 10, 0, 'a0', 1);
    let aDone = false;
    const da = a.drain().then(() => (aDone = true));
    await flushMicrotasks();
    assert.deepEqual(f.acked, [], 'not handed over at the end of a');
    assert.equal(aDone, false, 'a waits for the batch holding its event');
    await b.add(ev('b1'), 10, 1, 'b1', 1); // the third event: full, handed over at once
    await b.drain();
    await da;
    assert.deepEqual(f.acked, [['b0', 'a0', 'b1']], 'one batch for both reads');
    assert.deepEqual(acked.sort(), ['a0', 'b0', 'b1'], "each read's part was told");
  });

  it(`a batch not full is handed over LINGER_MS (${LINGER_MS} ms) after a read with events in it ended: a stalled download holds the others back no longer`, async () => {
    const { f } = streamingSink();
    const clock = gateClock();
    const { d } = delivery(f.sink, { maxBatchEvents: 100, clock });
    const lane = d.lane();
    const a = lane.batcher();
    const b = lane.batcher();
    a.add(ev('a0'), 10, 0, 'a0', 1);
    b.add(ev('b0'), 10, 0, 'b0', 1); // b's download then stalls
    const da = a.drain();
    await flushMicrotasks();
    assert.deepEqual(clock.sleeps, [LINGER_MS], 'one linger timer');
    assert.deepEqual(f.acked, []);
    clock.tick();
    await da;
    assert.deepEqual(f.acked, [['a0', 'b0']], "handed over with b's events so far");
    b.add(ev('b1'), 10, 1, 'b1', 1);
    const db = b.drain();
    await flushMicrotasks();
    clock.tick();
    await db;
    assert.deepEqual(f.acked, [['a0', 'b0'], ['b1']]);
  });

  it('at most one batch of a lane waits for room: the other reads wait without encoding (memory bound)', async () => {
    const { f, st } = streamingSink();
    const release = holdDeliveries(f.sink);
    const { d } = delivery(f.sink, { maxBatchEvents: 2, maxInFlight: 1 });
    const lane = d.lane();
    const reads = [0, 1, 2, 3].map(() => lane.batcher());
    // Read 0 fills batch 1 (in flight, unacked) and batch 2 (waits for room).
    await reads[0].add(ev('r0a'), 10, 0, 'r0a', 1);
    const waiting = reads[0].add(ev('r0b'), 10, 1, 'r0b', 1);
    await reads[0].add(ev('r0c'), 10, 2, 'r0c', 1);
    const w2 = reads[0].add(ev('r0d'), 10, 3, 'r0d', 1);
    assert.ok(waiting === undefined || waiting instanceof Promise);
    const openedBefore = st.opened;
    // Every other read now waits: nothing of theirs is encoded, whatever blobConcurrency is.
    const others = [1, 2, 3].map((k) => reads[k].add(ev(`r${k}`), 10, 0, `r${k}`, 1));
    assert.ok(others.every((p) => p instanceof Promise), 'the other reads wait');
    assert.equal(st.opened, openedBefore, 'no batch was opened for them');
    release();
    await w2;
    await Promise.all(others);
    await Promise.all(reads.map((r) => r.drain()));
    assert.deepEqual(f.acked.flat().sort(), ['r0a', 'r0b', 'r0c', 'r0d', 'r1', 'r2', 'r3']);
  });

  it('a record that waits for room is claimed at once (another blob sees it on its way) and delivered once', async () => {
    const { f } = streamingSink();
    const release = holdDeliveries(f.sink);
    const ids = new DeliveredIds(100);
    const claims = ids.tenant('t');
    const { d } = delivery(f.sink, { maxBatchEvents: 1, maxInFlight: 1 });
    const lane = d.lane();
    const a = lane.batcher((sb, r) => r && ids.addAll('t', sb.ids), claims);
    const b = lane.batcher((sb, r) => r && ids.addAll('t', sb.ids), claims);
    await a.add(ev('x'), 10, 0, 'x', 1, 'x'); // in flight, not acknowledged yet
    const pa = a.add(ev('y'), 10, 1, 'y', 1, 'y'); // waits for room
    const pb = b.add(ev('z'), 10, 0, 'z', 1, 'z'); // waits behind it
    assert.ok(claims.pending('y') && claims.pending('z'), 'both are on their way');
    release();
    await Promise.all([pa, pb]);
    await Promise.all([a.drain(), b.drain()]);
    assert.deepEqual(f.acked, [['x'], ['y'], ['z']]);
    assert.ok(ids.has('t', 'x') && ids.has('t', 'y') && ids.has('t', 'z'));
    assert.equal(claims.pending('z'), undefined, 'claims end with the outcome');
  });

  it('an abandoned read: its events shared with another read are delivered (and told), its claims alone end', async () => {
    const { f, st } = streamingSink();
    const { d } = delivery(f.sink, { maxBatchEvents: 100 });
    const lane = d.lane();
    const reports: Rep[] = [];
    const a = lane.batcher((sb, r) => reports.push(['a', sb.from, sb.to, sb.ids.toArray(), r]));
    const b = lane.batcher((sb, r) => reports.push(['b', sb.from, sb.to, sb.ids.toArray(), r]));
    a.add(ev('a0'), 10, 0, 'a0', 1);
    b.add(ev('b0'), 10, 0, 'b0', 1);
    await a.settle(); // a's read failed: its event can't be taken out of the shared bytes
    assert.equal(st.abandoned, 0);
    assert.deepEqual(f.acked, [['a0', 'b0']]);
    assert.deepEqual(reports.sort(), [
      ['a', 0, 1, ['a0'], { acked: 1, quarantined: 0, lost: [] }],
      ['b', 0, 1, ['b0'], { acked: 1, quarantined: 0, lost: [] }],
    ]);
    await b.drain();
  });

  it("a refused event is reduced or lost in its own read's report, not its neighbour's", async () => {
    const { f } = streamingSink();
    const { d } = delivery(f.sink, { maxBatchEvents: 100 });
    const lane = d.lane();
    const reports = new Map<string, BatchReport | null>();
    const a = lane.batcher((_sb, r) => reports.set('a', r));
    const b = lane.batcher((_sb, r) => reports.set('b', r));
    a.add(ev('a0'), 10, 0, 'a0', 1);
    b.add(ev('big1', { big: true }), 10, 0, 'big1', 1);
    b.add(ev('hopeless', { big: true }), 10, 1, 'hopeless', 1);
    await Promise.all([a.drain(), b.drain()]);
    assert.deepEqual(reports.get('a'), { acked: 1, quarantined: 0, lost: [] });
    const rb = reports.get('b')!;
    assert.equal(rb.acked, 1, 'big1 delivered reduced');
    assert.equal(rb.quarantined, 1);
    assert.deepEqual(rb.lost.map((l) => l.recordId), ['hopeless']);
  });

  it('a sink without an encoder keeps one lane per read (its outcomes are per batch), handed over at its end (no linger)', async () => {
    const f = fakeSink();
    const clock = gateClock();
    const { d } = delivery(f.sink, { maxBatchEvents: 100, clock });
    const lane = d.lane();
    const a = lane.batcher();
    const b = lane.batcher();
    a.add(ev('a0'), 10, 0, 'a0', 1);
    b.add(ev('b0'), 10, 0, 'b0', 1);
    await a.drain();
    await b.drain();
    assert.deepEqual(f.acked, [['a0'], ['b0']]);
    assert.deepEqual(clock.sleeps, []);
  });
});
