/**
 * Issue 12's decisions as the poller applies them (real poller, delivery, ack tracker; a fake API and an
 * in-memory checkpoint store): a checkpoint older than the retention records the unreachable range as
 * lost; a window the API was not asked for (or not to its last page) is not closed; a blob refused with
 * a non-retryable answer does not hold the rest of the pass hostage and is given up after the set time.
 */
import { strict as assert } from 'node:assert';
import type { ActivityApi, ContentRef, ListingReport, OutEvent, Sink } from '../../../src/contracts';
import { BridgeError } from '../../../src/errors';
import { memoryLogger } from '../../../src/obs/log';
import { createMetrics } from '../../../src/obs/metrics';
import { Delivery } from '../../../src/core/delivery';
import { DeliveredIds } from '../../../src/core/dedup';
import { Semaphore, type Clock } from '../../../src/core/limits';
import type { Checkpoint } from '../../../src/state/checkpoint';
import { ContentTypePoller } from '../../../src/sources/o365/poller';
import { BlobFailures, MAX_AGE_MS } from '../../../src/sources/o365/windows';
import { createRouter } from '../../../src/shape/event';

const TENANT = '00000000-0000-0000-0000-000000000001';
const CT = 'Audit.General';
const HOUR = 3_600_000;
const iso = (t: number) => new Date(t).toISOString().replace(/\.\d+Z$/, 'Z');

function memStore() {
  const files = new Map<string, string>();
  return {
    files,
    async load(): Promise<Checkpoint | null> {
      const t = files.get(CT);
      return t ? (JSON.parse(t) as Checkpoint) : null;
    },
    async save(cp: Checkpoint): Promise<void> {
      files.set(CT, JSON.stringify(cp));
    },
    get cp(): Checkpoint {
      return JSON.parse(files.get(CT)!) as Checkpoint;
    },
  };
}

function ref(id: string, created: number): ContentRef {
  return { contentType: CT, contentId: id, contentUri: `https://api.test/${id}`, contentCreated: iso(created), contentExpiration: iso(created + 7 * 24 * HOUR) };
}

interface FakeApi extends ActivityApi {
  listed: Array<{ start: number; end: number }>;
  fetched: string[];
}

/** Lists `refs` in each asked window; `report` fills the listing report (undefined: leaves it empty). */
function fakeApi(refs: ContentRef[], o: { refuse?: Set<string>; report?: (start: Date, end: Date) => ListingReport } = {}): FakeApi {
  const api: FakeApi = {
    tenantId: TENANT,
    listed: [],
    fetched: [],
    async ensureSubscriptions() {
      return [];
    },
    async *listContent(_ct: string, start: Date, end: Date, info?: ListingReport) {
      api.listed.push({ start: +start, end: +end });
      if (info && o.report) Object.assign(info, o.report(start, end));
      yield refs.filter((r) => Date.parse(r.contentCreated) >= +start && Date.parse(r.contentCreated) < +end);
    },
    async fetchBlob(uri: string) {
      const id = uri.split('/').pop()!;
      api.fetched.push(id);
      if (o.refuse?.has(id)) throw new BridgeError('API_BAD_REQUEST', 'unexpected redirect (not followed) (HTTP 302)', { retryable: false, details: { status: 302 } });
      return (async function* () {
        yield Buffer.from(JSON.stringify([{ Id: `rec-${id}`, RecordType: 1, CreationTime: '2024-05-01T10:00:00', Operation: 'x' }]));
      })();
    },
  };
  return api;
}

function world(now: number) {
  const clock: Clock & { t: number } = { t: now, now: () => clock.t, sleep: async () => undefined, random: () => 0.5 };
  const acked: string[] = [];
  const sink: Sink = {
    encode: (e: OutEvent[]) => ({ events: e.length, bytes: 1, e }) as never,
    deliver: async (b) => {
      for (const ev of (b as unknown as { e: OutEvent[] }).e) acked.push(String(ev.record.Id));
    },
    release: () => undefined,
    close: async () => undefined,
  };
  const logger = memoryLogger('warn');
  const metrics = createMetrics({ processMetrics: false });
  const delivery = new Delivery(sink, { maxBatchEvents: 10, maxBatchBytes: 1 << 20, maxInFlight: 2, logger, signal: new AbortController().signal, clock });
  const delivered = new DeliveredIds(10_000);
  const store = memStore();
  const router = createRouter({ tagPrefix: 't', now: clock.now });
  const poller = (api: ActivityApi, failures?: BlobFailures) =>
    new ContentTypePoller(
      {
        tenantId: TENANT,
        contentType: CT,
        api,
        store,
        validator: { mode: 'default', validate: () => ({ valid: true, recordType: 1, errors: [], warnings: [] }) },
        router,
        delivery,
        delivered,
        blobSlots: new Semaphore(4),
        logger,
        metrics,
        clock,
        blobFailures: failures,
      },
      {
        initialLookbackMs: 6 * HOUR,
        trailingMs: 30 * 60_000,
        ageMarginMs: 15 * 60_000,
        blobConcurrency: 1,
        maxBlobAttempts: 2,
        maxRecordBytes: 1 << 20,
        recentBlobsCapacity: 1000,
        stopFetching: new AbortController().signal,
      },
    );
  return { clock, acked, logger, metrics, store, poller };
}

describe('poller: gaps, window closing and blobs given up (issue 12 wiring)', () => {
  it('a checkpoint older than the retention records the unreachable range as lost (checkpoint, log, metric) and fetches what the API holds', async () => {
    const now = Date.parse('2026-03-10T12:00:00Z');
    const w = world(now);
    const old = now - 8 * 24 * HOUR;
    await w.store.save({ version: 1, tenantId: TENANT, contentType: CT, cursor: iso(old), doneAtCursor: [], recent: [], lost: [], updatedAt: iso(old) });
    const held = ref('held', now - MAX_AGE_MS + 5 * 60_000);
    const api = fakeApi([held]);
    const r = await w.poller(api).runPass();
    assert.equal(r.error, undefined, String(r.error));
    assert.deepEqual(w.acked, ['rec-held'], 'what the API still holds is fetched');
    const gaps = w.store.cp.gaps ?? [];
    assert.equal(gaps.length, 1, 'one lost range in the checkpoint');
    assert.equal(gaps[0].from, new Date(old).toISOString());
    assert.ok(Date.parse(gaps[0].to) <= Date.parse(held.contentCreated) && Date.parse(gaps[0].to) > old + 23 * HOUR, gaps[0].to);
    assert.equal(r.gaps.length, 1);
    assert.ok(w.logger.lines.some((l) => l.includes('no longer answers for this time range')), 'a warning');
    assert.match(await w.metrics.text(), /o365_bridge_lost_ranges_total\{[^}]*\} 1/);
    // Recorded once: the next pass does not record it again.
    w.clock.t += 60_000;
    await w.poller(api).runPass();
    assert.equal((w.store.cp.gaps ?? []).length, 1);
  });

  it('an empty listing of a window the API was not asked for does not close it; an incomplete one neither', async () => {
    const now = Date.parse('2026-03-10T12:00:00Z');
    for (const report of [() => ({ asked: null, complete: true }), (s: Date, e: Date) => ({ asked: { start: s, end: e }, complete: false })]) {
      const w = world(now);
      const cursor = iso(now - 2 * HOUR);
      await w.store.save({ version: 1, tenantId: TENANT, contentType: CT, cursor, doneAtCursor: [], recent: [], lost: [], updatedAt: cursor });
      const r = await w.poller(fakeApi([], { report })).runPass();
      assert.equal(r.error, undefined);
      assert.equal(w.store.cp.cursor, cursor, `cursor kept (${JSON.stringify(report(new Date(0), new Date(0)))})`);
    }
    // Asked whole and complete: closed (the cursor moves to the window's end).
    const w = world(now);
    const cursor = iso(now - 2 * HOUR);
    await w.store.save({ version: 1, tenantId: TENANT, contentType: CT, cursor, doneAtCursor: [], recent: [], lost: [], updatedAt: cursor });
    await w.poller(fakeApi([], { report: (s, e) => ({ asked: { start: s, end: e }, complete: true }) })).runPass();
    assert.ok(Date.parse(w.store.cp.cursor!) > Date.parse(cursor));
  });

  it('a window whose start the API moved forward records [start, asked start) as lost and still closes', async () => {
    const now = Date.parse('2026-03-10T12:00:00Z');
    const w = world(now);
    const cursor = iso(now - 2 * HOUR);
    await w.store.save({ version: 1, tenantId: TENANT, contentType: CT, cursor, doneAtCursor: [], recent: [], lost: [], updatedAt: cursor });
    const moved = Date.parse(cursor) + 10 * 60_000;
    await w.poller(fakeApi([], { report: (_s, e) => ({ asked: { start: new Date(moved), end: e }, complete: true }) })).runPass();
    const gaps = w.store.cp.gaps ?? [];
    assert.equal(gaps.length, 1);
    assert.equal(gaps[0].from, new Date(Date.parse(cursor)).toISOString());
    assert.equal(gaps[0].to, new Date(moved).toISOString());
    assert.ok(Date.parse(w.store.cp.cursor!) > moved, 'closed past the gap');
  });

  it('a blob refused with a non-retryable answer (302) does not stop the pass; after the give-up time it is lost with its code and the cursor moves on', async () => {
    const now = Date.parse('2026-03-10T12:00:00Z');
    const w = world(now);
    const refs = [ref('a', now - 3 * HOUR), ref('bad', now - 3 * HOUR + 60_000), ref('c', now - 3 * HOUR + 120_000), ref('d', now - 3 * HOUR + 180_000)];
    const api = fakeApi(refs, { refuse: new Set(['bad']) });
    const failures = new BlobFailures(HOUR);
    const r1 = await w.poller(api, failures).runPass();
    assert.equal(r1.error, undefined, 'not fatal to the pass');
    assert.deepEqual(w.acked.sort(), ['rec-a', 'rec-c', 'rec-d'], 'the rest of the pass got through');
    assert.equal(w.store.cp.cursor, refs[0].contentCreated, 'the refused blob holds the cursor');
    assert.equal(w.store.cp.lost.length, 0);
    // Before the give-up time: tried again, still held.
    w.clock.t += 30 * 60_000;
    await w.poller(api, failures).runPass();
    assert.equal(w.store.cp.lost.length, 0);
    assert.equal(api.fetched.filter((x) => x === 'bad').length, 2);
    // After it: lost with its code, the cursor moves on; the others are not fetched again.
    w.clock.t += 31 * 60_000;
    const r3 = await w.poller(api, failures).runPass();
    assert.deepEqual(r3.lost, [{ contentId: 'bad', code: 'API_BAD_REQUEST' }]);
    assert.deepEqual(w.store.cp.lost.map((l) => [l.contentId, l.code]), [['bad', 'API_BAD_REQUEST']]);
    assert.ok(Date.parse(w.store.cp.cursor!) > Date.parse(refs[3].contentCreated), `cursor moved on: ${w.store.cp.cursor}`);
    assert.deepEqual(w.acked.sort(), ['rec-a', 'rec-c', 'rec-d'], 'nothing twice');
    assert.match(await w.metrics.text(), /o365_bridge_blobs_lost_total\{[^}]*code="API_BAD_REQUEST"[^}]*\} 1/);
    assert.equal(failures.size, 0, 'forgotten once recorded');
  });

  it('a tenant-wide refusal (403) of a blob still stops the pass', async () => {
    const now = Date.parse('2026-03-10T12:00:00Z');
    const w = world(now);
    const api = fakeApi([ref('a', now - 3 * HOUR), ref('b', now - 3 * HOUR + 60_000)]);
    api.fetchBlob = async () => {
      throw new BridgeError('API_FORBIDDEN', 'forbidden', { retryable: false });
    };
    const r = await w.poller(api).runPass();
    assert.equal(r.error?.code, 'API_FORBIDDEN');
    assert.equal(w.store.cp.lost.length, 0);
  });
});

// Issue 17: a read held its download slot until its records were acknowledged, so with small blobs
// and slow acks the downloads waited for the acks (100-record blobs, 250 ms acks: about 1.8k records/s).
describe('poller: a read frees its download slot once read, not once acknowledged', () => {
  it('with acks held back, more blobs are downloaded than blobConcurrency, and they share batches; all delivered once, the cursor past the last', async () => {
    const now = Date.parse('2026-03-10T12:00:00Z');
    const w = world(now);
    const refs = Array.from({ length: 6 }, (_, k) => ref(`b${k}`, now - 3 * HOUR + k * 60_000));
    const api = fakeApi(refs);
    // The same world, with a sink that encodes as batches fill (so reads share them) and holds its acks.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const batches: string[][] = [];
    const sink: Sink = {
      encode: (e: OutEvent[]) => ({ events: e.length, bytes: 1, e }) as never,
      encoder: () => {
        const held: OutEvent[] = [];
        return { add: (e: OutEvent) => void held.push(e), get events() { return held.length; }, finish: () => ({ events: held.length, bytes: 1, e: held }) as never, abandon: () => undefined };
      },
      deliver: async (b) => {
        await gate;
        batches.push((b as unknown as { e: OutEvent[] }).e.map((ev) => String(ev.record.Id)));
      },
      release: () => undefined,
      close: async () => undefined,
    };
    // Timers (the lane's linger) end only on tick(): the batch fills with every blob's record meanwhile.
    let wake: Array<() => void> = [];
    const clock: Clock = { now: () => now, random: () => 0.5, sleep: () => new Promise<void>((r) => wake.push(r)) };
    const delivery = new Delivery(sink, { maxBatchEvents: 10, maxBatchBytes: 1 << 20, maxInFlight: 2, logger: w.logger, signal: new AbortController().signal, clock });
    const poller = new ContentTypePoller(
      {
        tenantId: TENANT,
        contentType: CT,
        api,
        store: w.store,
        validator: { mode: 'default', validate: () => ({ valid: true, recordType: 1, errors: [], warnings: [] }) },
        router: createRouter({ tagPrefix: 't', now: clock.now }),
        delivery,
        delivered: new DeliveredIds(10_000),
        blobSlots: new Semaphore(1),
        logger: w.logger,
        metrics: w.metrics,
        clock,
      },
      { initialLookbackMs: 6 * HOUR, trailingMs: 30 * 60_000, ageMarginMs: 15 * 60_000, blobConcurrency: 1, maxBlobAttempts: 2, maxRecordBytes: 1 << 20, recentBlobsCapacity: 1000, stopFetching: new AbortController().signal },
    );
    const pass = poller.runPass();
    for (let k = 0; k < 20 && api.fetched.length < refs.length; k++) await new Promise<void>((r) => setImmediate(r));
    assert.equal(api.fetched.length, refs.length, 'every blob downloaded before any batch was acknowledged (blobConcurrency 1)');
    assert.deepEqual(batches, []);
    for (const r of wake.splice(0)) r(); // the linger ends: the batch is handed over
    release();
    const r = await pass;
    assert.equal(r.error, undefined, String(r.error));
    assert.deepEqual(batches.flat().sort(), refs.map((x) => `rec-${x.contentId}`).sort(), 'each record delivered once');
    assert.equal(batches.length, 1, `the six blobs shared one batch (${JSON.stringify(batches)})`);
    assert.ok(Date.parse(w.store.cp.cursor!) >= Date.parse(refs[refs.length - 1].contentCreated), 'the cursor moved past the last blob');
  });
});
