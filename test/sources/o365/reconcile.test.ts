import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ContentRef } from '../../../src/contracts';
import { validateConfigObject } from '../../../src/config/load';
import { memoryLogger } from '../../../src/obs/log';
import { findLate, lateSeconds, nextSweepAt, planSweep, Reconciler, RETRY_SWEEP_MS, sweepDue } from '../../../src/sources/o365/reconcile';
import { readLastSweep } from '../../../src/state/delivered-blobs';

const H = 3_600_000;
const D = 24 * H;
const M = 60_000;
const T0 = Date.UTC(2025, 2, 10, 12, 0, 0);
const TENANT = '5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d';
const CT = 'Audit.General';

const ref = (id: string, created: number): ContentRef => ({
  contentType: CT,
  contentId: id,
  contentUri: `https://api.example/api/v1.0/${TENANT}/activity/feed/audit/${id}`,
  contentCreated: new Date(created).toISOString(),
  contentExpiration: new Date(created + 7 * D).toISOString(),
});

describe('sources/o365/reconcile: planning (pure)', () => {
  it('schedules the first sweep one interval after the record started, then every interval; sooner after an incomplete one', () => {
    const interval = 360 * M;
    assert.equal(nextSweepAt({ recordCreatedAt: T0 }, interval), T0 + interval);
    assert.ok(!sweepDue({ recordCreatedAt: T0 }, T0 + interval - 1, interval));
    assert.ok(sweepDue({ recordCreatedAt: T0 }, T0 + interval, interval));
    assert.equal(nextSweepAt({ recordCreatedAt: T0, last: { startedAt: T0 + H, complete: true } }, interval), T0 + H + interval);
    assert.equal(nextSweepAt({ recordCreatedAt: T0, last: { startedAt: T0 + H, complete: false } }, interval), T0 + H + RETRY_SWEEP_MS);
    // An interval shorter than the retry delay is not stretched.
    assert.equal(nextSweepAt({ recordCreatedAt: T0, last: { startedAt: T0, complete: false } }, M), T0 + M);
  });

  it('re-lists from the coverage start (or 7 days back, less the margin) up to the cursor, in ≤ 24 h windows on whole seconds', () => {
    const margin = 15 * M;
    const w = planSweep({ now: T0, coverageStart: T0 - 30 * D, cursor: new Date(T0 - 10 * M).toISOString(), ageMarginMs: margin });
    assert.equal(w[0].start, T0 - 7 * D + margin);
    assert.equal(w[w.length - 1].end, T0 - 10 * M);
    assert.equal(w.length, 7);
    for (let i = 0; i < w.length; i++) {
      assert.ok(w[i].end - w[i].start <= D && w[i].end > w[i].start);
      assert.equal(w[i].start % 1000, 0);
      if (i > 0) assert.equal(w[i].start, w[i - 1].end, 'contiguous');
    }
    // A record that started 2 days ago covers 2 days only: nothing before the bridge's responsibility.
    const w2 = planSweep({ now: T0, coverageStart: T0 - 2 * D + 500, cursor: new Date(T0).toISOString(), ageMarginMs: margin });
    assert.deepEqual(w2, [
      { start: T0 - 2 * D + 1000, end: T0 - D + 1000 },
      { start: T0 - D + 1000, end: T0 },
    ]);
    assert.deepEqual(planSweep({ now: T0, coverageStart: null, cursor: new Date(T0).toISOString(), ageMarginMs: margin }), []);
    assert.deepEqual(planSweep({ now: T0, coverageStart: T0 - D, cursor: null, ageMarginMs: margin }), []);
    assert.deepEqual(planSweep({ now: T0, coverageStart: T0 + H, cursor: new Date(T0).toISOString(), ageMarginMs: margin }), []);
    // A cursor ahead of the clock is capped at now.
    assert.equal(planSweep({ now: T0, coverageStart: T0 - H, cursor: new Date(T0 + H).toISOString(), ageMarginMs: margin }).at(-1)!.end, T0);
  });

  it('finds the late blobs: usable, unique, not delivered, in cursor order; and says how late', () => {
    const a = ref('a', T0 - 2 * D);
    const b = ref('b', T0 - 3 * D);
    const c = ref('c', T0 - D);
    const late = findLate([c, a, null, { contentId: 'x' }, b, a], (r) => r.contentId === 'c');
    assert.deepEqual(late.map((r) => r.contentId), ['b', 'a']);
    assert.equal(lateSeconds(a, T0), 2 * 86400);
  });

  it('poll.reconcileIntervalMinutes is at least 1 and defaults to 360', () => {
    const base = { tenants: [{ id: TENANT, clientId: TENANT, clientSecret: { env: 'X' } }] };
    assert.equal(validateConfigObject(base, 'c.yaml').poll.reconcileIntervalMinutes, 360);
    assert.throws(() => validateConfigObject({ ...base, poll: { reconcileIntervalMinutes: 0 } }, 'c.yaml'), /reconcileIntervalMinutes/);
    assert.equal(validateConfigObject({ ...base, poll: { reconcileIntervalMinutes: 1 } }, 'c.yaml').poll.reconcileIntervalMinutes, 1);
  });
});

describe('sources/o365/reconcile: Reconciler (state dir, fake API and delivery)', () => {
  let dir: string;
  let now: number;
  let listable: ContentRef[];
  let listings: Array<[number, number]>;
  const stop = new AbortController();
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'o365fb-reconcile-'));
    now = T0;
    listable = [];
    listings = [];
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function make(log = memoryLogger(), counted: number[] = []) {
    return new Reconciler({
      stateDir: dir,
      tenantId: TENANT,
      contentType: CT,
      intervalMs: 360 * M,
      ageMarginMs: 15 * M,
      concurrency: 2,
      listContent: async function* (start, end) {
        listings.push([+start, +end]);
        yield listable.filter((r) => Date.parse(r.contentCreated) >= +start && Date.parse(r.contentCreated) < +end);
      },
      logger: log,
      countLate: (_t, _c, n) => counted.push(n),
      now: () => now,
      stop: stop.signal,
    });
  }

  it('fetches exactly the blobs of the retention never delivered, counts and logs them, and keeps the record across restarts', async () => {
    const log = memoryLogger();
    const counted: number[] = [];
    const r = make(log, counted);
    const early = ref('early', T0 - 3 * D - H); // before the coverage start: never swept
    const seen = ref('seen', T0 - 2 * D);
    assert.equal(await r.begin({ recent: [[seen.contentId, seen.contentCreated]] }, T0 - 3 * D), true, 'a new record: the poller has it written before fetching');
    const delivered = ref('delivered', T0 - D);
    r.finished(delivered);
    await r.flush();
    const lateA = ref('late-a', T0 - 2 * D - H);
    const lateB = ref('late-b', T0 - 5 * H);
    listable = [early, seen, delivered, lateA, lateB, ref('above-cursor', T0 - M)];
    const fetched: string[] = [];
    // As the poller's: the ack tracker finishes the blob (adds it to the record) once acknowledged.
    const deliver = async (x: ContentRef) => {
      fetched.push(x.contentId);
      r.finished(x);
      return 'done' as const;
    };
    const cursor = new Date(T0 - 10 * M).toISOString();
    assert.equal(await r.maybeSweep(cursor, deliver), undefined, 'not due before one interval');
    assert.equal(listings.length, 0);

    now = T0 + 6 * H;
    const s = (await r.maybeSweep(cursor, deliver))!;
    assert.deepEqual(fetched.sort(), ['late-a', 'late-b']);
    assert.equal(s.late, 2);
    assert.equal(s.complete, true);
    assert.equal(s.from, new Date(T0 - 3 * D).toISOString());
    assert.equal(s.to, cursor);
    assert.equal(s.windows, 3);
    assert.deepEqual(counted, [1, 1]);
    const lines = log.lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'late content found by the reconciliation sweep');
    assert.deepEqual(lines.map((l) => [l.contentId, l.lateSeconds]).sort(), [
      ['late-a', (2 * D + H + 6 * H) / 1000],
      ['late-b', (5 * H + 6 * H) / 1000],
    ]);
    // status reads the sweep from the state dir, once the record is written (by the ack tracker's persist).
    assert.equal(await readLastSweep(dir, TENANT, CT).then((x) => x?.late), undefined, 'the sweep writes nothing itself');
    await r.flush();
    const read = await readLastSweep(dir, TENANT, CT);
    assert.equal(read?.late, 2);
    assert.deepEqual(read?.lateBlobs.map((b) => b.contentId).sort(), ['late-a', 'late-b']);

    // A new process: nothing is fetched twice; the next sweep comes one interval later.
    const r2 = make();
    assert.equal(await r2.begin({ recent: [] }, T0), false);
    assert.ok(r2.isDelivered(lateA) && r2.isDelivered(seen) && r2.isDelivered(delivered));
    fetched.length = 0;
    now = T0 + 11 * H;
    assert.equal(await r2.maybeSweep(cursor, deliver), undefined);
    now = T0 + 12 * H;
    const s2 = (await r2.maybeSweep(cursor, deliver))!;
    assert.equal(s2.late, 0);
    assert.equal(s2.lateTotal, 2);
    assert.deepEqual(fetched, []);
  });

  it('a blob that fails to deliver stays out of the record: the next sweep comes sooner and fetches it', async () => {
    const r = make();
    await r.begin({ recent: [] }, T0 - D);
    const late = ref('late', T0 - 12 * H);
    listable = [late];
    let fail = true;
    const deliver = async (x: ContentRef) => {
      if (fail) return 'failed' as const;
      r.finished(x);
      return 'done' as const;
    };
    now = T0 + 6 * H;
    const s1 = (await r.maybeSweep(new Date(T0).toISOString(), deliver))!;
    assert.equal(s1.failed, 1);
    assert.equal(s1.complete, false);
    assert.ok(!r.isDelivered(late));
    now += RETRY_SWEEP_MS - 1;
    assert.equal(await r.maybeSweep(new Date(T0).toISOString(), deliver), undefined);
    now += 1;
    fail = false;
    const s2 = (await r.maybeSweep(new Date(T0).toISOString(), deliver))!;
    assert.equal(s2.late, 1);
    assert.ok(r.isDelivered(late));
  });

  it('a lost blob (expired at the source) is finished too: not fetched again by every sweep', async () => {
    const r = make();
    await r.begin({ recent: [] }, T0 - D);
    listable = [ref('gone', T0 - 12 * H)];
    let calls = 0;
    const deliver = async (x: ContentRef) => {
      calls++;
      r.finished(x); // lost at the source: finished too (the ack tracker's lostLate)
      return 'lost' as const;
    };
    now = T0 + 6 * H;
    await r.maybeSweep(new Date(T0).toISOString(), deliver);
    now += 6 * H;
    await r.maybeSweep(new Date(T0).toISOString(), deliver);
    assert.equal(calls, 1);
  });

  it('a listing error ends the sweep as incomplete, with the error kept for status', async () => {
    const log = memoryLogger();
    const r = new Reconciler({
      stateDir: dir,
      tenantId: TENANT,
      contentType: CT,
      intervalMs: 60 * M,
      ageMarginMs: 15 * M,
      concurrency: 1,
      // eslint-disable-next-line require-yield
      listContent: async function* () {
        throw new Error('boom');
      },
      logger: log,
      countLate: () => {},
      now: () => now,
      stop: stop.signal,
    });
    await r.begin({ recent: [] }, T0 - D);
    now = T0 + H;
    const s = (await r.maybeSweep(new Date(T0).toISOString(), async () => 'done'))!;
    assert.equal(s.complete, false);
    assert.match(String(s.error), /boom/);
    assert.ok(log.lines.some((l) => /listing failed/.test(l)));
  });
});
