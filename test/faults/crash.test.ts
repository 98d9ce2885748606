/**
 * The bridge killed with SIGKILL at random moments, several times in one run, and restarted from its
 * state each time: no record may be lost; re-sends (acked but not yet checkpointed) are counted.
 */
import { strict as assert } from 'node:assert';
import { delay, LONG, printTableAtEnd, Scenario, waitUntil } from '../support/faults-harness';

printTableAtEnd();

describe('faults: crashes', function () {
  let s: Scenario | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it(`SIGKILL at random moments (${LONG ? 8 : 3} times), restarting from the saved state`, async () => {
    s = await Scenario.start('crash: SIGKILL at random moments', {
      emulator: { recordsPerHour: { 'Audit.General': 150, 'Audit.Exchange': 150 } },
      receiver: { ackDelayMs: 10 },
      // A small in-flight window (2 batches of 5), so the bound below says something.
      config: { poll: { blobConcurrency: 3 }, sink: { maxBatchEvents: 5, maxInFlightBatches: 2 } },
    });
    const kills = LONG ? 8 : 3;
    const moments: number[] = [];
    for (let i = 0; i < kills; i++) {
      const r = s.spawn();
      // Random moment after the first event of this run reached the receiver (or right at start).
      const before = s.rx.received;
      if (Math.random() < 0.75) await waitUntil(() => s!.rx.received > before || !r.running, 60_000, 'a delivery');
      const ms = Math.floor(Math.random() * 1200);
      await delay(ms);
      moments.push(ms);
      const { signal } = await r.stop('SIGKILL');
      if (signal !== 'SIGKILL') break; // it finished before the kill: the data set is done
    }
    const last = await s.runToEnd();
    assert.equal((await last.exited).code, 0, last.out.slice(-2000));
    // The stated bound (README, Delivery guarantees): a kill sends again at most what was in flight,
    // sink.maxInFlightBatches × sink.maxBatchEvents records (every record here has an Id, and the Ids
    // acknowledged up to the kill are in the record Id journal). Before the journal: up to
    // poll.blobConcurrency blobs per content type (3 × 10 × 2 here) per kill.
    const bound = moments.length * 2 * 5;
    const a = s.account({ note: `${moments.length} kills at +${moments.join('/')} ms; duplicate bound ${bound}`, maxDuplicates: bound });
    assert.deepEqual(a.missing, [], 'records never acknowledged after the kills');
    assert.ok(a.row.duplicates <= bound, `${a.row.duplicates} duplicates after ${moments.length} kills, over the bound ${bound}`);
    // And each record at most once per kill.
    assert.ok(s.maxReceiptsPerRecord() <= 1 + moments.length, `a record arrived ${s.maxReceiptsPerRecord()} times`);
    assert.deepEqual(s.secretLeaks(), []);
  });
});
