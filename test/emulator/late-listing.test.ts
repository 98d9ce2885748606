/**
 * The late-listing fault: a blob that becomes listable hours to days after its window was first
 * listed, with its contentCreated still in that old window. Driven with plain HTTP and an injected clock.
 */
import { strict as assert } from 'node:assert';
import { startEmulator, type Emulator } from '../../src/emulator';
import { HOUR, T0, api, iso, token, type Clock } from './support';

const GENERAL = 'Audit.General';

async function listedIds(em: Emulator, start: number, end: number): Promise<Array<{ contentId: string; contentCreated: string }>> {
  const a = api(em, await token(em));
  const out: Array<{ contentId: string; contentCreated: string }> = [];
  let r = await a.list(GENERAL, iso(start), iso(end));
  for (;;) {
    assert.equal(r.status, 200, r.text);
    out.push(...(r.json as Array<{ contentId: string; contentCreated: string }>));
    const next = r.headers.get('nextpageuri');
    if (!next) break;
    r = await a.get(next);
  }
  return out;
}

describe('emulator: late-listing fault', () => {
  const clock: Clock = { now: T0 };
  let em: Emulator | undefined;
  afterEach(async () => {
    await em?.stop();
    em = undefined;
  });

  const start = (faults: Record<string, number>) =>
    startEmulator({
      seed: 'late-listing',
      now: () => clock.now,
      historyHours: 72,
      recordsPerHour: { [GENERAL]: 200 },
      recordsPerBlob: 10,
      enabledAtStart: [GENERAL],
      faults,
    });

  it('a blob of an already-listed window appears hours later, contentCreated unchanged; the ledger follows asOf', async () => {
    clock.now = T0;
    em = await start({ lateListingRate: 0.3, lateListingMinMs: 30 * HOUR, lateListingMaxMs: 30 * HOUR });
    const tenant = em.tenants[0].tenantId;
    // A window 20 h old: its late blobs become listable at contentCreated + 30 h, i.e. 10-11 h from now.
    const w0 = Math.floor(T0 / HOUR) * HOUR - 20 * HOUR;
    const w1 = w0 + HOUR;
    const first = await listedIds(em, w0, w1);
    const all = em.ledger.blobs(tenant, w0, w1, { contentType: GENERAL, asOf: T0 + 12 * HOUR });
    const late = all.filter((b) => b.lateListed);
    assert.ok(late.length > 0 && late.length < all.length, `some, not all, blobs are late-listed (${late.length}/${all.length})`);
    assert.deepEqual(first.map((e) => e.contentId).sort(), all.filter((b) => !b.lateListed).map((b) => b.contentId).sort(), 'first listing: no late-listed blob');
    assert.deepEqual(em.ledger.blobs(tenant, w0, w1, { contentType: GENERAL, asOf: T0 }).map((b) => b.contentId).sort(), first.map((e) => e.contentId).sort());
    for (const b of late) assert.equal(b.visibleAt - b.contentCreated, 30 * HOUR);

    clock.now = T0 + 12 * HOUR;
    const again = await listedIds(em, w0, w1);
    assert.deepEqual(again.map((e) => e.contentId).sort(), all.map((b) => b.contentId).sort(), 'later: every blob, the late ones included');
    for (const b of late) {
      const e = again.find((x) => x.contentId === b.contentId)!;
      assert.equal(Date.parse(e.contentCreated), b.contentCreated);
      assert.ok(b.contentCreated >= w0 && b.contentCreated < w1, 'contentCreated stays in the old window');
    }
    // And it is fetchable (not AF20050 any more).
    const a = api(em, await token(em));
    const blob = await a.get(`${a.base}/audit/${late[0].contentId}`);
    assert.equal(blob.status, 200);
  });

  it('draws each delay between lateListingMinMs and lateListingMaxMs (hours to days)', async () => {
    clock.now = T0;
    em = await start({ lateListingRate: 0.5, lateListingMinMs: 6 * HOUR, lateListingMaxMs: 72 * HOUR });
    const late = em.ledger.blobs(em.tenants[0].tenantId, T0 - 72 * HOUR, T0, { contentType: GENERAL, asOf: T0 + 200 * HOUR }).filter((b) => b.lateListed);
    assert.ok(late.length > 50);
    const delays = late.map((b) => b.visibleAt - b.contentCreated);
    assert.ok(delays.every((d) => d >= 6 * HOUR && d <= 72 * HOUR));
    assert.ok(Math.max(...delays) - Math.min(...delays) > 24 * HOUR, 'spread over days, not one value');
  });

  it('lateListingNotBefore: blobs of windows days old appear at a given instant (for real-clock tests)', async () => {
    clock.now = T0;
    em = await start({ lateListingRate: 0.2, lateListingMinMs: 0, lateListingMaxMs: 0, lateListingNotBefore: T0 + 60_000 });
    const tenant = em.tenants[0].tenantId;
    const w0 = T0 - 48 * HOUR;
    const w1 = w0 + 24 * HOUR;
    const before = await listedIds(em, w0, w1);
    const all = em.ledger.blobs(tenant, w0, w1, { contentType: GENERAL, asOf: T0 + 60_000 });
    assert.ok(all.some((b) => b.lateListed));
    assert.equal(before.length, all.filter((b) => !b.lateListed).length);
    clock.now = T0 + 60_000;
    const after = await listedIds(em, w0, w1);
    assert.equal(after.length, all.length);
  });

  it('is off by default and keeps the other faults as they were', async () => {
    clock.now = T0;
    em = await start({});
    const bs = em.ledger.blobs(em.tenants[0].tenantId, T0 - 72 * HOUR, T0, { contentType: GENERAL });
    assert.ok(bs.length > 0);
    assert.ok(bs.every((b) => !b.lateListed && b.visibleAt === b.contentCreated));
  });
});
