/** fast-check arbitraries for the delivery simulation's schedules (see world.ts). */
import fc from 'fast-check';
import type { BlobSpec, FetchFault, Schedule, SinkFault } from './world';

const fetchFault = fc.constantFrom<FetchFault>('ok', 'ok', 'cut', 'cut-error', 'fail', 'throttle', 'refuse');
const sinkFault = fc.constantFrom<SinkFault>('ack', 'ack', 'ack', 'slow', 'lost-ack', 'drop', 'ack-lost-in-transit');

const blob: fc.Arbitrary<BlobSpec> = fc
  .record({
    ct: fc.integer({ min: 0, max: 1 }),
    createdSec: fc.integer({ min: -4 * 3600, max: 600 }),
    records: fc.integer({ min: 1, max: 6 }),
    // Late content: within the trailing window mostly, sometimes hours to days late (only the sweep finds it).
    lateSec: fc.oneof(
      { weight: 8, arbitrary: fc.constant(0) },
      { weight: 2, arbitrary: fc.integer({ min: 1, max: 3600 }) },
      { weight: 1, arbitrary: fc.integer({ min: 3 * 3600, max: 2 * 86400 }) },
    ),
    dupInListing: fc.boolean(),
    fetches: fc.array(fetchFault, { maxLength: 6 }),
    expiresSec: fc.oneof({ weight: 9, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 5 * 3600 }) }),
    noId: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 2 }),
    tooLarge: fc.oneof({ weight: 6, arbitrary: fc.constant<number[]>([]) }, { weight: 1, arbitrary: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 2 }) }),
    hopeless: fc.boolean(),
    reDelivered: fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 5 }) }),
  })
  // Whole seconds, as the API lists them.
  .map((b) => b);

export const schedule: fc.Arbitrary<Schedule> = fc.record({
  blobs: fc.array(blob, { minLength: 1, maxLength: 6 }),
  sink: fc.array(sinkFault, { maxLength: 12 }),
  listThrottled: fc.array(fc.integer({ min: 0, max: 8 }), { maxLength: 2 }),
  crashesSec: fc.array(fc.integer({ min: 0, max: 600 }), { maxLength: 3 }),
  blobConcurrency: fc.integer({ min: 1, max: 3 }),
  maxBatchEvents: fc.integer({ min: 1, max: 4 }),
  maxInFlight: fc.integer({ min: 1, max: 3 }),
  phaseSec: fc.integer({ min: 60, max: 600 }),
});
