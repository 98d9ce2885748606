/**
 * Receiver faults against the real CLI: down at start, down in the middle, closing the connection
 * mid-batch, never acknowledging (ack timeout), acknowledging slowly. The checkpoint moves only over
 * acknowledged events, so nothing may be lost; re-sends after a timeout are counted as duplicates.
 */
import { strict as assert } from 'node:assert';
import { delay, expectClean, LONG, printTableAtEnd, Scenario } from '../support/faults-harness';

printTableAtEnd();

describe('faults: the receiver', function () {
  let s: Scenario | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  /** A second run after the first finished: may send content that appeared meanwhile, never an acknowledged record again. */
  async function rerunSendsNothing(sc: Scenario) {
    const acked = sc.rx.ackedIds();
    const from = sc.rx.events.length;
    const r = await sc.runToEnd();
    assert.equal((await r.exited).code, 0, r.out.slice(-2000));
    const again = sc.rx.events.slice(from).filter((e) => acked.has(e.record?.Id));
    assert.equal(again.length, 0, 'a restart re-sent acknowledged events');
  }

  it('down at start: delivery waits (with backoff) and completes once it is up', async () => {
    s = await Scenario.start('receiver: down at start');
    await s.rx.pause();
    const r = s.spawn();
    await r.waitForLog(/delivery failed, will retry|forward connection|SINK_UNREACHABLE/, 1, 60_000);
    await delay(1500);
    assert.equal(s.rx.received, 0);
    await s.rx.resume();
    await r.finish();
    assert.equal((await r.exited).code, 0, r.out.slice(-2000));
    await rerunSendsNothing(s);
    expectClean(s, { maxDuplicates: 0 });
  });

  it(`down for ${LONG ? 'a minute' : 'a few seconds'} in the middle, then restarted`, async () => {
    s = await Scenario.start(`receiver: down ${LONG ? '60 s' : '5 s'} mid-run`, { receiver: { ackDelayMs: 20 } });
    const r = s.spawn();
    await s.rx.waitFor(() => s!.rx.acked > 0, 60_000);
    await s.rx.pause();
    await delay(LONG ? 60_000 : 5000);
    await s.rx.resume();
    await r.finish(LONG ? 180_000 : 90_000);
    assert.equal((await r.exited).code, 0, r.out.slice(-2000));
    await rerunSendsNothing(s);
    // Batches cut off by the outage are sent again: bounded by the in-flight window.
    expectClean(s, { note: 'unacked batches re-sent', maxDuplicates: 4 * 5000 });
  });

  it('closes the connection mid-batch: the batch is sent again on a new connection', async () => {
    s = await Scenario.start('receiver: closes mid-batch', { receiver: { mode: 'close-mid-batch' } });
    const r = s.spawn();
    await s.rx.waitFor(() => s!.rx.stats.closedMidBatch >= 3, 60_000);
    s.rx.setMode('ack');
    await r.finish();
    assert.equal((await r.exited).code, 0, r.out.slice(-2000));
    expectClean(s, { note: `${s.rx.stats.closedMidBatch} connections cut`, maxDuplicates: 0 });
  });

  it('never acks (ack timeout): nothing is checkpointed until acks come; then everything arrives', async () => {
    s = await Scenario.start('receiver: never acks, then acks', {
      receiver: { mode: 'never-ack' },
      config: { sink: { ackTimeoutSeconds: 1 } },
    });
    const r = s.spawn();
    await s.rx.waitFor(() => s!.rx.received > 0, 60_000);
    await r.waitForLog(/SINK_ACK_TIMEOUT|ack timeout|not acknowledged/i, 1, 30_000);
    for (const ct of s.contentTypes) {
      const cp = s.checkpoint(ct);
      assert.ok(!cp || (cp.recent.length === 0 && (cp.cursor === null || Date.parse(cp.cursor) < s.startedAt - 3_600_000)), `${ct}: nothing may be checkpointed without an ack`);
    }
    s.rx.setMode('ack');
    await r.finish();
    assert.equal((await r.exited).code, 0, r.out.slice(-2000));
    // Everything received without an ack was sent again: those are the duplicates, and they are expected.
    const a = expectClean(s, { note: 'unacked sends repeated' });
    assert.ok(a.row.duplicates > 0, 'the unacknowledged events were sent again');
  });

  it('acks slowly (within the timeout): no duplicates', async () => {
    // More packets than the in-flight window holds, each acked in 1 s, a 3 s timeout: queueing must not count.
    s = await Scenario.start('receiver: slow acks (1 s, timeout 3 s)', {
      receiver: { mode: 'slow-ack', ackDelayMs: 1000 },
      emulator: { recordsPerHour: { 'Audit.General': 60, 'Audit.Exchange': 60 } },
      config: { sink: { ackTimeoutSeconds: 3, maxInFlightBatches: 16 } },
    });
    const r = await s.runToEnd();
    assert.equal((await r.exited).code, 0, r.out.slice(-2000));
    expectClean(s, { maxDuplicates: 0 });
  });

  it('SIGTERM while the receiver is down: the stop is clean and nothing unacked is checkpointed', async () => {
    s = await Scenario.start('receiver: down + SIGTERM + restart', { config: { sink: { ackTimeoutSeconds: 2 } } });
    const r = s.spawn();
    await s.rx.waitFor(() => s!.rx.acked > 0, 60_000);
    await s.rx.pause();
    await delay(300);
    await r.stop('SIGTERM');
    // Exit codes of run --once: 5, the signal cut the pass short (4 had the receiver been given up first).
    assert.ok([4, 5].includes((await r.exited).code ?? -1), r.out.slice(-2000));
    await s.rx.resume();
    const r2 = await s.runToEnd();
    assert.equal((await r2.exited).code, 0, r2.out.slice(-2000));
    expectClean(s, { note: 'unacked batches re-sent after restart', maxDuplicates: 4 * 5000 });
  });
});
