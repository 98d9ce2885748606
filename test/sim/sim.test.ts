/**
 * The delivery simulation in `npm test`: many seeded schedules of faults (late and duplicated blobs,
 * bodies cut short or failing, expiry, throttling; slow, lost and dropped acks, permanent refusals;
 * kill -9 and restart from the store) through the real poller, delivery, ack tracker and checkpoint
 * code on a virtual clock. Long runs: `npm run test:sim -- --runs N --seed S`.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { runSchedule } from './world';
import { schedule } from './schedule';

export const SIM_SEED = 20241101;
const RUNS = Number(process.env.SIM_RUNS ?? 1000);

describe('simulation: at least once under faults, restarts and refusals', function () {
  // Seconds on an idle machine; the bound is for a loaded CI box, not a speed requirement.
  this.timeout(300_000);

  it(`${RUNS} seeded schedules: no checkpoint covers an unacknowledged record; every record acknowledged or reported lost; duplicates within the bound`, async () => {
    await fc.assert(
      fc.asyncProperty(schedule, async (s) => {
        const r = await runSchedule(s);
        assert.deepEqual(r.violations, []);
      }),
      { seed: SIM_SEED, numRuns: RUNS },
    );
  });

  it('found by the simulation (seed 902220319): a record skipped because its Id was on its way elsewhere is asked for again after a cut', async () => {
    // Blob 1's record 1 repeats blob 0's Id, whose batch waits out a lost ack. Blob 1's first read is
    // cut after the batch [r0, r2] was acknowledged: its range [0, 3) covered the skipped r1, so the
    // second read skipped r1 as acknowledged and blob 1 was finished before blob 0's Id was.
    const r = await runSchedule({
      blobs: [
        { ct: 0, createdSec: -1, records: 1, lateSec: 0, dupInListing: false, fetches: [], expiresSec: 0, noId: [], tooLarge: [], hopeless: false, reDelivered: null },
        { ct: 0, createdSec: -1, records: 6, lateSec: 0, dupInListing: false, fetches: ['cut-error'], expiresSec: 0, noId: [], tooLarge: [], hopeless: false, reDelivered: 1 },
      ],
      sink: ['lost-ack'],
      listThrottled: [],
      crashesSec: [],
      blobConcurrency: 2,
      maxBatchEvents: 2,
      maxInFlight: 2,
      phaseSec: 60,
    });
    assert.deepEqual(r.violations, []);
  });

  it('found by the simulation: a failed blob does not pull a null cursor past an earlier blob still in flight', async () => {
    // Blob 0 waits for a slow ack while blob 1 fails for good this pass: the cursor used to jump to
    // blob 1's time, claiming blob 0 finished (lost after a restart once the trailing window passed it).
    const r = await runSchedule({
      blobs: [
        { ct: 0, createdSec: -2, records: 1, lateSec: 0, dupInListing: false, fetches: [], expiresSec: 0, noId: [], tooLarge: [], hopeless: false, reDelivered: null },
        { ct: 0, createdSec: -1, records: 1, lateSec: 0, dupInListing: false, fetches: ['cut-error', 'fail', 'fail'], expiresSec: 0, noId: [], tooLarge: [], hopeless: false, reDelivered: null },
      ],
      sink: ['slow'],
      listThrottled: [],
      crashesSec: [],
      blobConcurrency: 2,
      maxBatchEvents: 1,
      maxInFlight: 1,
      phaseSec: 60,
    });
    assert.deepEqual(r.violations, []);
  });

  it('found by the simulation: a record skipped because another blob had it on the way is sent after all when it was lost there', async () => {
    const r = await runSchedule({
      blobs: [
        { ct: 0, createdSec: 0, records: 2, lateSec: 1, dupInListing: false, fetches: [], expiresSec: 0, noId: [], tooLarge: [0], hopeless: true, reDelivered: null },
        { ct: 0, createdSec: 0, records: 1, lateSec: 1, dupInListing: false, fetches: [], expiresSec: 0, noId: [], tooLarge: [], hopeless: false, reDelivered: 0 },
        { ct: 0, createdSec: 0, records: 1, lateSec: 0, dupInListing: false, fetches: [], expiresSec: 0, noId: [], tooLarge: [], hopeless: false, reDelivered: null },
      ],
      sink: [],
      listThrottled: [],
      crashesSec: [],
      blobConcurrency: 2,
      maxBatchEvents: 2,
      maxInFlight: 1,
      phaseSec: 60,
    });
    assert.deepEqual(r.violations, []);
  });

  it('a schedule with every kind of fault at once holds too (a fixed, readable case)', async () => {
    const r = await runSchedule({
      blobs: [
        { ct: 0, createdSec: -600, records: 5, lateSec: 0, dupInListing: true, fetches: ['cut', 'cut-error', 'fail'], expiresSec: 0, noId: [1], tooLarge: [3], hopeless: false, reDelivered: null },
        { ct: 0, createdSec: -300, records: 4, lateSec: 900, dupInListing: false, fetches: ['throttle'], expiresSec: 0, noId: [], tooLarge: [0], hopeless: true, reDelivered: 2 },
        { ct: 1, createdSec: 30, records: 3, lateSec: 0, dupInListing: false, fetches: [], expiresSec: 60, noId: [], tooLarge: [], hopeless: false, reDelivered: null },
      ],
      sink: ['lost-ack', 'drop', 'slow', 'ack-lost-in-transit', 'ack', 'lost-ack'],
      listThrottled: [1],
      crashesSec: [40, 200],
      blobConcurrency: 2,
      maxBatchEvents: 2,
      maxInFlight: 2,
      phaseSec: 400,
    });
    assert.deepEqual(r.violations, []);
    assert.ok(r.stats.acked > 0 && r.stats.sessions >= 3);
  });
  // issue 14: a blob listed a day after its window (three hours old) was listed, past the trailing window.
  it('a blob listed a day late, below the trailing window, is found by the reconciliation sweep (control: missed without it)', async () => {
    const s = {
      blobs: [
        { ct: 0, createdSec: -3 * 3600, records: 3, lateSec: 86_400, dupInListing: false, fetches: ['fail' as const], expiresSec: 0, noId: [], tooLarge: [], hopeless: false, reDelivered: null },
        { ct: 0, createdSec: -60, records: 2, lateSec: 0, dupInListing: false, fetches: [], expiresSec: 0, noId: [], tooLarge: [], hopeless: false, reDelivered: null },
      ],
      sink: ['lost-ack' as const],
      listThrottled: [],
      crashesSec: [120],
      blobConcurrency: 2,
      maxBatchEvents: 1,
      maxInFlight: 2,
      phaseSec: 300,
    };
    const r = await runSchedule(s);
    assert.deepEqual(r.violations, []);
    const control = await runSchedule({ ...s, noSweep: true });
    assert.ok(control.violations.some((v) => /blob-000 record b0r0 .*never acknowledged nor reported lost/.test(v)), control.violations.join('\n'));
  });
});
