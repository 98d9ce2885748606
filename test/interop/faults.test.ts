/**
 * The fault suite's comparison (the emulator's ledger against what the receiver wrote) with real
 * receivers: Fluentd stopped with SIGTERM and killed with SIGKILL mid-run (file buffer), Fluent Bit
 * killed (filesystem storage), the bridge killed with SIGKILL and restarted. Nothing may be missing;
 * re-sends stay within the bound the README states.
 */
import { strict as assert } from 'node:assert';
import { printTableAtEnd } from '../support/faults-harness';
import { collect, startRig, type Rig } from './support/bridge';
import { requireReceivers, waitUntil, type Kind } from './support/receivers';

printTableAtEnd();

/** Small batches, so a run has many in flight and a kill lands between acknowledgements. */
const BATCH_EVENTS = 200;
const IN_FLIGHT = 4;
const RECORDS_PER_BLOB = 10;
const CONTENT_TYPES = ['Audit.General', 'Audit.Exchange'];
const BLOB_CONCURRENCY = 4;
/**
 * README, "Delivery guarantees": only what was in flight is sent again, at most `sink.maxInFlightBatches`
 * batches of `sink.maxBatchEvents`, after a kill -9 of the bridge too (the acknowledged Ids are in the
 * journal). While a blob worker waited for each blob's acks, the window never filled with blobs of 10
 * records (at most blobConcurrency blobs per content type were in flight, 80 records here); since a worker
 * moves on once a blob is read (issue 17), the window is the bound.
 */
const WINDOW = BATCH_EVENTS * IN_FLIGHT;
const BRIDGE_CRASH_BOUND = WINDOW;

async function rigFor(name: string, kind: Kind): Promise<Rig> {
  const rig = await startRig(name, {
    kind,
    version: kind === 'fluentd' ? '1.16.11' : undefined,
    mode: 'shared key',
    scenario: {
      contentTypes: CONTENT_TYPES,
      emulator: { historyHours: 4, recordsPerBlob: RECORDS_PER_BLOB, recordsPerHour: Object.fromEntries(CONTENT_TYPES.map((c) => [c, 500])) },
    },
  });
  rig.s.writeConfig({ sink: { maxBatchEvents: BATCH_EVENTS, maxInFlightBatches: IN_FLIGHT, ackTimeoutSeconds: 10 }, poll: { blobConcurrency: BLOB_CONCURRENCY } });
  return rig;
}

/** Until the receiver holds something it acknowledged (in its buffer or already written). */
async function someAcked(rig: Rig): Promise<void> {
  await waitUntil(() => rig.rr.bufferedChunks().length > 0 || rig.rr.events().length > 0, 60_000, `${rig.rr.name} to accept events`);
}

function verdict(rig: Rig, note: string, maxDuplicates: number) {
  const a = rig.s.account({ note, maxDuplicates });
  assert.deepEqual(a.missing, [], `${rig.s.name}: ${a.missing.length} records served and never written by ${rig.rr.name}`);
  assert.ok(a.row.delivered > 0);
  assert.ok(a.row.duplicates <= maxDuplicates, `${rig.s.name}: ${a.row.duplicates} duplicates > ${maxDuplicates} (the stated bound)`);
  assert.deepEqual(rig.s.secretLeaks(), []);
  return a;
}

describe('interop: faults with real receivers (ledger vs what the receiver wrote)', function () {
  this.timeout(240_000);
  before(function () {
    requireReceivers(this);
  });
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  for (const [kind, signal] of [['fluentd', 'SIGTERM'], ['fluentd', 'SIGKILL'], ['fluent-bit', 'SIGKILL']] as const) {
    const label = kind === 'fluentd' ? 'Fluentd 1.16.11 (file buffer)' : 'Fluent Bit 4.2.8 (filesystem storage)';
    it(`${label} ${signal === 'SIGTERM' ? 'stopped with SIGTERM' : 'killed with SIGKILL'} mid-run and restarted: 0 missing`, async () => {
      rig = await rigFor(`interop: ${label} ${signal} mid-run`, kind);
      const run = rig.s.spawn();
      await someAcked(rig);
      await rig.rr.stop(signal);
      const wasRunning = run.running;
      await rig.rr.start();
      await run.finish(180_000);
      assert.equal((await run.exited).code, 0, run.out.slice(-3000));
      await collect(rig);
      const a = verdict(rig, `${signal} ${wasRunning ? 'mid-run' : 'after the run'}`, WINDOW);
      assert.ok(wasRunning, `the bridge had finished before the receiver went down (${a.row.delivered} delivered): the kill was not mid-run`);
    });
  }

  it('the bridge killed with SIGKILL mid-run and restarted (into Fluentd 1.16.11): 0 missing', async () => {
    rig = await rigFor('interop: bridge SIGKILL, Fluentd 1.16.11', 'fluentd');
    const first = rig.s.spawn();
    await someAcked(rig);
    const { signal } = await first.stop('SIGKILL');
    const second = await rig.s.runToEnd({}, 180_000);
    assert.equal((await second.exited).code, 0, second.out.slice(-3000));
    await collect(rig);
    verdict(rig, `bridge ${signal ?? 'finished'}`, BRIDGE_CRASH_BOUND);
    assert.equal(signal, 'SIGKILL', 'the bridge had finished before the kill');
  });
});

