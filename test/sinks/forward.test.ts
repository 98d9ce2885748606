import { strict as assert } from 'node:assert';
import sinon from 'sinon';
import type { OutEvent } from '../../src/contracts';
import { isBridgeError, type ErrorCode } from '../../src/errors';
import { createForwardSink, type ForwardSink, type ForwardSinkOptions } from '../../src/sinks/forward/forward';
import { startReceiver, type Receiver, type ReceiverOptions } from '../support/receiver';
import { makeTestCert, type TestCert } from '../support/receiver-tls';

/** Waits on I/O only (setImmediate is not faked): for conditions on the client side. */
async function until(pred: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 20_000; i++) {
    if (pred()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`never happened: ${what}`);
}

/** Follows a promise's outcome without awaiting it. */
function track<T>(p: Promise<T>): { settled: () => boolean; error: () => unknown; calls: () => number; done: Promise<void> } {
  let calls = 0;
  let err: unknown;
  const done = p.then(
    () => { calls++; },
    (e) => { calls++; err = e; },
  );
  return { settled: () => calls > 0, error: () => err, calls: () => calls, done };
}

async function rejectsWith(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isBridgeError(e), `not a BridgeError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

function ev(i: number, tag = 'o365.audit.exchange', extra: Record<string, unknown> = {}): OutEvent {
  return { tag, time: { sec: 1_700_000_000 + i, nsec: 123_456_789 }, record: { Id: `id-${i}`, Operation: 'Send', n: i, ...extra } };
}

describe('forward sink', () => {
  let receiver: Receiver | undefined;
  let sink: ForwardSink | undefined;
  let clock: sinon.SinonFakeTimers | undefined;

  async function setup(r: ReceiverOptions = {}, s: Partial<ForwardSinkOptions> = {}): Promise<{ r: Receiver; sink: ForwardSink }> {
    receiver = await startReceiver(r);
    sink = createForwardSink({ host: '127.0.0.1', port: receiver.port, ackTimeoutMs: 5000, ...s });
    return { r: receiver, sink };
  }

  /** Deadlines run on a fake clock: a test moves time, it never waits for it. */
  function fakeTimers(): sinon.SinonFakeTimers {
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    return clock;
  }

  afterEach(async () => {
    clock?.restore();
    clock = undefined;
    await sink?.close();
    sink = undefined;
    await receiver?.stop();
    receiver = undefined;
  });

  describe('happy path', () => {
    it('sends one PackedForward packet per batch and resolves only after its ack', async () => {
      const { r, sink } = await setup({ mode: 'never-ack' });
      const events = [ev(1), ev(2), ev(3)];
      const t = track(sink.send(events));
      await r.waitFor(() => r.heldChunks().length === 1);
      await until(() => r.received === 3, 'events received');
      assert.equal(t.settled(), false, 'resolved before the ack');
      r.releaseHeldAcks();
      await t.done;
      assert.equal(t.error(), undefined);
      assert.equal(r.packets.length, 1);
      const p = r.packets[0];
      assert.equal(p.mode, 'PackedForward');
      assert.equal(p.tag, 'o365.audit.exchange');
      assert.equal(p.sizeOption, 3, 'option.size is the event count');
      assert.equal(typeof p.chunk, 'string');
      assert.deepEqual(r.events.map((e) => e.record), events.map((e) => e.record));
      assert.deepEqual(r.events[0].time, { sec: 1_700_000_001, nsec: 123_456_789 }, 'EventTime with nanoseconds');
      assert.deepEqual([...r.ackedIds()].sort(), ['id-1', 'id-2', 'id-3']);
    });

    it('splits a batch with several tags into one packet per tag and waits for every ack', async () => {
      const { r, sink } = await setup({ mode: 'never-ack' });
      const t = track(sink.send([ev(1, 'a'), ev(2, 'b'), ev(3, 'a'), ev(4, 'c')]));
      await r.waitFor(() => r.heldChunks().length === 3);
      r.releaseHeldAcks(2);
      await r.waitFor(() => r.acked === 3);
      await until(() => sink.unmatchedAcks === 0 && r.heldChunks().length === 1, 'two acks processed');
      assert.equal(t.settled(), false, 'resolved with a packet unacked');
      r.releaseHeldAcks();
      await t.done;
      assert.equal(t.error(), undefined);
      assert.deepEqual(Object.fromEntries(r.countByTag()), { a: 2, b: 1, c: 1 });
      assert.deepEqual(r.packets.map((p) => [p.tag, p.events]), [['a', 2], ['b', 1], ['c', 1]]);
    });

    it('reads acks split over TCP segments', async () => {
      const { r, sink } = await setup({ splitAcks: true });
      await sink.send([ev(1)]);
      await sink.send([ev(2)]);
      assert.equal(r.acked, 2);
    });

    it('works against @fluent-org/logger FluentServer (an independent implementation)', async () => {
      const { r, sink } = await setup({ impl: 'fluent-org' });
      await Promise.all([sink.send([ev(1, 'x'), ev(2, 'y')]), sink.send([ev(3, 'x')])]);
      assert.deepEqual([...r.ackedIds()].sort(), ['id-1', 'id-2', 'id-3']);
      assert.deepEqual(r.events.find((e) => e.record.Id === 'id-1')!.time, { sec: 1_700_000_001, nsec: 123_456_789 });
    });
  });

  describe('acknowledgements', () => {
    it('never acked: rejects once with SINK_ACK_TIMEOUT, and the late ack is ignored', async () => {
      const { r, sink } = await setup({ mode: 'never-ack' }, { ackTimeoutMs: 30_000 });
      const clk = fakeTimers();
      const t = track(sink.send([ev(1)]));
      await r.waitFor(() => r.heldChunks().length === 1);
      clk.tick(29_999);
      await new Promise((res) => setImmediate(res));
      assert.equal(t.settled(), false);
      clk.tick(1);
      await t.done;
      assert.ok(isBridgeError(t.error(), 'SINK_ACK_TIMEOUT'));
      assert.equal((t.error() as { retryable: boolean }).retryable, true);
      r.releaseHeldAcks();
      await until(() => sink.unmatchedAcks === 1, 'late ack read');
      assert.equal(t.calls(), 1);
    });

    it("a late ack does not resolve another batch, and the next batch's ack still counts", async () => {
      const { r, sink } = await setup({ mode: 'never-ack' }, { ackTimeoutMs: 1000 });
      const clk = fakeTimers();
      const a = track(sink.send([ev(1)]));
      await r.waitFor(() => r.heldChunks().length === 1);
      clk.tick(1000);
      await a.done;
      assert.ok(isBridgeError(a.error(), 'SINK_ACK_TIMEOUT'));
      const b = track(sink.send([ev(2)]));
      await r.waitFor(() => r.heldChunks().length === 2);
      r.releaseHeldAcks(1); // A's ack, late
      await until(() => sink.unmatchedAcks === 1, 'late ack read');
      assert.equal(b.settled(), false, 'B resolved by A\'s ack');
      r.releaseHeldAcks(1); // B's own ack
      await b.done;
      assert.equal(b.error(), undefined);
      assert.equal(a.calls(), 1);
    });

    it('matches acks by chunk id when several batches are in flight and acks come back reversed in one segment', async () => {
      const { r, sink } = await setup({ mode: 'out-of-order', window: 3 });
      const order: number[] = [];
      await Promise.all([1, 2, 3].map((i) => sink.send([ev(i)]).then(() => order.push(i))));
      assert.deepEqual(order, [3, 2, 1]);
      assert.equal(r.acked, 3);
      assert.equal(sink.unmatchedAcks, 0);
    });

    it('an ack with a wrong chunk id settles nothing: SINK_ACK_TIMEOUT', async () => {
      const { r, sink } = await setup({ mode: 'wrong-chunk' }, { ackTimeoutMs: 1000 });
      const clk = fakeTimers();
      const t = track(sink.send([ev(1)]));
      await until(() => sink.unmatchedAcks === 1, 'wrong ack read');
      assert.equal(t.settled(), false);
      clk.tick(1000);
      await t.done;
      assert.ok(isBridgeError(t.error(), 'SINK_ACK_TIMEOUT'));
      assert.equal(r.acked, 0);
    });

    it('keeps at most maxInFlight packets unacked; the rest wait their turn', async () => {
      const { r, sink } = await setup({ mode: 'never-ack' }, { maxInFlight: 2 });
      const ts = [1, 2, 3].map((i) => track(sink.send([ev(i)])));
      await r.waitFor(() => r.heldChunks().length === 2);
      await new Promise((res) => setImmediate(res));
      assert.equal(r.packets.length, 2, 'a third packet went out');
      r.releaseHeldAcks(1);
      await r.waitFor(() => r.packets.length === 3);
      r.setMode('ack');
      r.releaseHeldAcks();
      await Promise.all(ts.map((t) => t.done));
      assert.deepEqual(ts.map((t) => t.error()), [undefined, undefined, undefined]);
    });
  });

  describe('connection faults', () => {
    it('receiver reads then closes mid-batch: rejects at once with SINK_UNREACHABLE, next send reconnects', async () => {
      const { r, sink } = await setup({ mode: 'close-mid-batch' }, { ackTimeoutMs: 60_000 });
      fakeTimers(); // nothing may depend on the deadline
      await rejectsWith(sink.send([ev(1), ev(2)]), 'SINK_UNREACHABLE');
      assert.equal(r.acked, 0);
      r.setMode('ack');
      await sink.send([ev(1), ev(2)]);
      assert.equal(r.acked, 2);
      assert.equal(r.connections, 2);
    });

    it('connection lost with packets in flight: rejects at once', async () => {
      const { r, sink } = await setup({ mode: 'never-ack' }, { ackTimeoutMs: 60_000 });
      fakeTimers();
      const t = track(sink.send([ev(1)]));
      await r.waitFor(() => r.heldChunks().length === 1);
      await r.pause();
      await t.done;
      assert.ok(isBridgeError(t.error(), 'SINK_UNREACHABLE'));
    });

    it('receiver down at start: SINK_UNREACHABLE at once; once it is up, the next send delivers', async () => {
      const { r, sink } = await setup({}, { ackTimeoutMs: 60_000 });
      await r.pause();
      fakeTimers();
      await rejectsWith(sink.send([ev(1)]), 'SINK_UNREACHABLE');
      await rejectsWith(sink.send([ev(1)]), 'SINK_UNREACHABLE');
      await r.resume();
      await sink.send([ev(1)]);
      assert.deepEqual([...r.ackedIds()], ['id-1']);
    });

    it('a batch waiting for a connection that never completes is bounded by its deadline', async () => {
      // Sink expects a HELO (shared key) that this receiver never sends: connected, but never ready.
      const { sink } = await setup({}, { sharedKey: 'secret-key-1', ackTimeoutMs: 2000, connectTimeoutMs: 1000 });
      const clk = fakeTimers();
      const t = track(sink.send([ev(1)]));
      await new Promise((res) => setImmediate(res));
      clk.tick(1000);
      await t.done;
      assert.ok(isBridgeError(t.error(), 'SINK_AUTH'), String(t.error()));
    });

    it('close() rejects unacked sends with SINK_CLOSED, and later sends too', async () => {
      const { r, sink } = await setup({ mode: 'never-ack' });
      const t = track(sink.send([ev(1)]));
      await r.waitFor(() => r.heldChunks().length === 1);
      await sink.close();
      await t.done;
      assert.ok(isBridgeError(t.error(), 'SINK_CLOSED'));
      await rejectsWith(sink.send([ev(2)]), 'SINK_CLOSED');
      await sink.close();
      r.releaseHeldAcks();
    });
  });

  describe('shared key and TLS', () => {
    let cert: TestCert;
    before(() => {
      cert = makeTestCert();
    });

    it('authenticates with the shared key (HELO/PING/PONG) and user auth', async () => {
      const { r, sink } = await setup({ sharedKey: 'shared-secret-1', users: { bridge: 'pa55word!' } }, { sharedKey: 'shared-secret-1', username: 'bridge', password: 'pa55word!' });
      await sink.send([ev(1)]);
      assert.equal(r.acked, 1);
    });

    it('wrong shared key: SINK_AUTH, no hang, and the message holds no secret', async () => {
      const { r, sink } = await setup({ sharedKey: 'shared-secret-1' }, { sharedKey: 'other-secret-2', ackTimeoutMs: 60_000 });
      fakeTimers();
      await assert.rejects(sink.send([ev(1)]), (e: unknown) => {
        assert.ok(isBridgeError(e, 'SINK_AUTH'));
        assert.ok(!JSON.stringify(e.toJSON()).includes('secret'), e.message);
        return true;
      });
      assert.equal(r.stats.authFailures, 1);
      // A new connection is tried on the next send (and fails the same way).
      await rejectsWith(sink.send([ev(1)]), 'SINK_AUTH');
      assert.equal(r.connections, 2);
    });

    it('wrong password: SINK_AUTH', async () => {
      const { sink } = await setup({ sharedKey: 'shared-secret-1', users: { bridge: 'right' } }, { sharedKey: 'shared-secret-1', username: 'bridge', password: 'wrong' });
      await rejectsWith(sink.send([ev(1)]), 'SINK_AUTH');
    });

    it('receiver requires a shared key the sink lacks: SINK_AUTH', async () => {
      const { sink } = await setup({ sharedKey: 'shared-secret-1' });
      await rejectsWith(sink.send([ev(1)]), 'SINK_AUTH');
    });

    it("reads a HELO nonce sent as msgpack str (Fluent Bit's way)", async () => {
      const { r, sink } = await setup({ sharedKey: 'shared-secret-1', nonceAsStr: true }, { sharedKey: 'shared-secret-1' });
      await sink.send([ev(1)]);
      assert.equal(r.acked, 1);
    });

    it('delivers over TLS with a private CA and servername', async () => {
      const { r, sink } = await setup({ tls: { key: cert.key, cert: cert.cert } }, { tls: { caPem: cert.caPem, servername: 'receiver.test' } });
      await sink.send([ev(1)]);
      assert.equal(r.acked, 1);
    });

    it('TLS + shared key against FluentServer', async () => {
      const { r, sink } = await setup(
        { impl: 'fluent-org', tls: { key: cert.key, cert: cert.cert }, sharedKey: 'shared-secret-1' },
        { tls: { caPem: cert.caPem, servername: 'receiver.test' }, sharedKey: 'shared-secret-1' },
      );
      await sink.send([ev(1), ev(2, 'other')]);
      assert.equal(r.acked, 2);
    });

    it('untrusted certificate: SINK_AUTH', async () => {
      const { sink } = await setup({ tls: { key: cert.key, cert: cert.cert } }, { tls: { servername: 'receiver.test' } });
      await rejectsWith(sink.send([ev(1)]), 'SINK_AUTH');
    });
  });

  describe('sizes and values', () => {
    it('splits a batch by bytes: every packet within maxBatchBytes, all acked', async () => {
      const max = 64 * 1024;
      const { r, sink } = await setup({ mode: 'drop-oversize', maxBytes: max }, { maxBatchBytes: max });
      const events = Array.from({ length: 300 }, (_, i) => ev(i, 'big', { pad: 'x'.repeat(1000) }));
      await sink.send(events);
      assert.ok(r.packets.length >= 5, `only ${r.packets.length} packets`);
      for (const p of r.packets) assert.ok(p.bytes <= max, `packet of ${p.bytes} bytes`);
      assert.equal(r.stats.droppedOversize, 0);
      assert.equal(r.ackedIds().size, 300);
      assert.deepEqual(r.events.map((e) => e.record.n), events.map((e) => e.record.n), 'order kept');
    });

    it('a receiver that drops an oversize packet never acks it: SINK_ACK_TIMEOUT', async () => {
      const { r, sink } = await setup({ mode: 'drop-oversize', maxBytes: 16 * 1024 }, { maxBatchBytes: 1024 * 1024, ackTimeoutMs: 1000 });
      const clk = fakeTimers();
      const t = track(sink.send(Array.from({ length: 50 }, (_, i) => ev(i, 'big', { pad: 'y'.repeat(1000) }))));
      await r.waitFor(() => r.stats.droppedOversize === 1);
      clk.tick(1000);
      await t.done;
      assert.ok(isBridgeError(t.error(), 'SINK_ACK_TIMEOUT'));
    });

    it('one event larger than maxBatchBytes: SINK_EVENT_TOO_LARGE, not retryable, nothing sent', async () => {
      const { r, sink } = await setup({}, { maxBatchBytes: 4096 });
      await assert.rejects(sink.send([ev(1), ev(2, 'o365.audit.exchange', { pad: 'z'.repeat(5000) })]), (e: unknown) => {
        assert.ok(isBridgeError(e, 'SINK_EVENT_TOO_LARGE'));
        assert.equal(e.retryable, false);
        assert.equal(e.details.index, 1);
        return true;
      });
      assert.equal(r.connections, 0);
    });

    it('maps Date, BigInt, undefined, NaN as JSON.stringify would', async () => {
      const { r, sink } = await setup();
      const record = {
        Id: 'v1',
        when: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)),
        big: 12345678901234567890n,
        gone: undefined,
        nan: NaN,
        list: [1, undefined, 'é✓😀', -5, 2 ** 40, -(2 ** 40), 1.5],
        nested: { a: { b: null, c: true } },
      };
      await sink.send([{ tag: 't', time: { sec: 1, nsec: 0 }, record }]);
      assert.deepEqual(r.events[0].record, JSON.parse(JSON.stringify(record, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))));
      assert.ok(!('gone' in r.events[0].record));
    });

    it('an empty batch resolves without connecting', async () => {
      const { r, sink } = await setup();
      await sink.send([]);
      assert.equal(r.connections, 0);
    });
  });
});
