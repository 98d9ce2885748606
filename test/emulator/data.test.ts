/** The generated data: determinism, laziness, realism, schema validity, the ledger and data faults. */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator';
import { createValidator } from '../../src/schema/validator';
import { DAY, HOUR, T0, api, iso, token } from './support';

const ALL = ['Audit.AzureActiveDirectory', 'Audit.Exchange', 'Audit.SharePoint', 'Audit.General', 'DLP.All'];
const RATES = { 'Audit.AzureActiveDirectory': 120, 'Audit.Exchange': 120, 'Audit.SharePoint': 120, 'Audit.General': 240, 'DLP.All': 60 };
/** ../shared/samples beside the repository, found from dist/ or a per-engineer build dir alike. */
const SAMPLES = ((): string => {
  let dir = __dirname;
  for (let i = 0; i < 7; i++, dir = path.dirname(dir)) {
    const f = path.join(dir, 'shared', 'samples', 'real-records.ndjson');
    if (fs.existsSync(f)) return f;
  }
  return '';
})();

async function withEmulator<T>(o: EmulatorOptions, fn: (em: Emulator) => Promise<T>): Promise<T> {
  const em = await startEmulator({ now: () => T0, historyHours: 12, recordsPerHour: RATES, recordsPerBlob: 40, enabledAtStart: ALL, ...o });
  try {
    return await fn(em);
  } finally {
    await em.stop();
  }
}

/** Every listing page and blob body (raw text) of a window, in order. */
async function snapshot(em: Emulator, start: number, end: number): Promise<string[]> {
  const a = api(em, await token(em));
  const out: string[] = [];
  for (const ct of ALL) {
    const list = await a.list(ct, iso(start), iso(end));
    out.push(list.text);
    for (const x of list.json as Array<{ contentUri: string }>) out.push((await a.get(x.contentUri)).text);
  }
  // The port differs between runs; nothing else may.
  return out.map((s) => s.split(em.url).join('{url}'));
}

function records(em: Emulator, start: number, end: number, contentType?: string): Array<Record<string, any>> {
  return em.ledger
    .blobs(em.tenants[0].tenantId, start, end, { contentType, includeExpired: true })
    .flatMap((b) => em.ledger.blobRecords(b.contentId));
}

describe('emulator: generated data', () => {
  it('is deterministic: same seed and profile → same listings and byte-identical blobs; another seed differs', async () => {
    const o: EmulatorOptions = { seed: 'determinism', profile: 'realistic', tenants: [{ tenantId: '12345678-90ab-4cde-8f01-23456789abcd', clientId: '0fedcba9-8765-4321-8fed-cba987654321' }] };
    const digest = (xs: string[]): string[] => xs.map((x) => createHash('sha256').update(x).digest('hex'));
    const one = digest(await withEmulator(o, (em) => snapshot(em, T0 - 6 * HOUR, T0)));
    const two = digest(await withEmulator(o, (em) => snapshot(em, T0 - 6 * HOUR, T0)));
    assert.ok(one.length > 20);
    assert.deepEqual(two, one);
    const other = digest(await withEmulator({ ...o, seed: 'other' }, (em) => snapshot(em, T0 - 6 * HOUR, T0)));
    assert.equal(other.filter((h) => one.includes(h)).length, 0);
  });

  it('is lazy: a 7-day history of millions of records starts at once and serves any blob on demand', async () => {
    await withEmulator({ historyHours: 168, recordsPerHour: { 'Audit.General': 40_000 }, recordsPerBlob: 2000 }, async (em) => {
      const t = em.tenants[0].tenantId;
      const h0 = Math.floor(T0 / HOUR) * HOUR;
      const day = em.ledger.blobs(t, h0 - 6 * DAY, h0 - 5 * DAY, { contentType: 'Audit.General' });
      assert.equal(day.reduce((n, b) => n + b.recordCount, 0), 24 * 40_000);
      const a = api(em, await token(em));
      const body = await a.get(day[100].contentUri);
      assert.equal(body.json.length, 2000);
      assert.equal(new Set(body.json.map((r: { Id: string }) => r.Id)).size, 2000, 'unique Ids in a bench-size blob');
      assert.deepEqual(
        body.json.map((r: { Id: string }) => r.Id),
        em.ledger.recordIds(t, day[100].contentCreated, day[100].contentCreated + 1000, { contentType: 'Audit.General' }).valid,
      );
    });
  });

  it('writes CreationTime in the API form, before contentCreated, and the common fields in every record', async () => {
    await withEmulator({ seed: 5 }, async (em) => {
      const t = em.tenants[0];
      for (const b of em.ledger.blobs(t.tenantId, T0 - 12 * HOUR, T0)) {
        for (const r of em.ledger.blobRecords(b.contentId) as Array<Record<string, any>>) {
          assert.match(r.CreationTime, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
          assert.ok(Date.parse(r.CreationTime + 'Z') < b.contentCreated, 'created before it became available');
          assert.match(r.Id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
          assert.equal(r.OrganizationId, t.tenantId);
          for (const k of ['Operation', 'UserKey', 'Workload', 'UserId']) assert.equal(typeof r[k], 'string', k);
          assert.ok(Number.isInteger(r.RecordType) && Number.isInteger(r.UserType));
          assert.equal(r.Version, 1);
        }
      }
    });
  });

  it('puts the right record types in each content type, with the Defender types in Audit.General', async () => {
    await withEmulator({ seed: 9, historyHours: 24, recordsPerHour: { ...RATES, 'Audit.General': 1500 } }, async (em) => {
      const types = (ct: string): Set<number> => new Set(records(em, T0 - 24 * HOUR, T0, ct).map((r) => r.RecordType as number));
      assert.deepEqual([...types('Audit.AzureActiveDirectory')].sort((x, y) => x - y), [8, 9, 15]);
      assert.deepEqual([...types('Audit.Exchange')].sort((x, y) => x - y), [1, 2, 3, 50]);
      assert.deepEqual([...types('Audit.SharePoint')].sort((x, y) => x - y), [4, 6, 14, 36, 54]);
      assert.deepEqual([...types('DLP.All')].sort((x, y) => x - y), [11, 13, 33]);
      assert.deepEqual([...types('Audit.General')].sort((x, y) => x - y), [20, 25, 28, 40, 41, 47, 64, 66]);
    });
  });

  it('gives the Defender records their real shapes and documented variants', async () => {
    await withEmulator({ seed: 11, historyHours: 24, recordsPerHour: { 'Audit.General': 3000 } }, async (em) => {
      const all = records(em, T0 - 24 * HOUR, T0, 'Audit.General');
      const of = (n: number): Array<Record<string, any>> => all.filter((r) => r.RecordType === n);
      const mail = of(28);
      assert.ok(mail.length > 100);
      for (const r of mail) {
        assert.equal(r.Workload, 'ThreatIntelligence');
        assert.equal(r.Operation, 'TIMailData');
        assert.equal(r.UserType, 4);
        assert.ok(!('ClientIP' in r));
        assert.match(r.MessageTime, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
        assert.ok(Array.isArray(r.Recipients) && r.Recipients.length > 0);
        assert.ok(['Inline', 'Delayed', 'ZAP'].includes(r.DetectionType));
        if ('ThreatsAndDetectionTech' in r) assert.ok(Array.isArray(r.ThreatsAndDetectionTech));
      }
      assert.ok(mail.some((r) => typeof r.Policy === 'string') && mail.some((r) => typeof r.Policy === 'number') && mail.some((r) => !('Policy' in r)));
      assert.ok(mail.some((r) => r.AttachmentData?.[0]?.SHA256?.match(/^[0-9A-F]{64}$/)));
      const clicks = of(41);
      assert.ok(clicks.every((r) => typeof r.Url === 'string' && typeof r.TimeOfClick === 'string'));
      assert.ok(clicks.some((r) => !('URLClickAction' in r)) && clicks.some((r) => [2, 3, 4, 5].includes(r.URLClickAction)));
      for (const r of of(47)) {
        assert.equal(typeof r.FileData.FileSize, 'string');
        assert.match(r.FileData.SHA256, /^[A-Za-z0-9+/]{43}=$/);
        assert.ok([0, 1, 2].includes(r.SourceWorkload));
      }
      const air = of(64);
      assert.ok(air.length > 10);
      for (const r of air) {
        assert.equal(r.Workload, 'AirInvestigation');
        assert.equal(r.ObjectId, r.Id);
        assert.equal(typeof r.Data, 'string');
        const data = JSON.parse(r.Data);
        assert.equal(data.ProviderName, 'OATP');
        assert.ok(Array.isArray(data.Entities));
        for (const act of r.Actions) if (typeof act === 'string') assert.equal(typeof JSON.parse(act).ActionId, 'string');
      }
      assert.ok(air.some((r) => r.Actions.some((x: unknown) => typeof x === 'string')) && air.some((r) => r.Actions.some((x: unknown) => typeof x === 'object')));
    });
  });

  it('uses, per record type, the field names real records carry', function () {
    if (!SAMPLES) return this.skip();
    const real = fs.readFileSync(SAMPLES, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    return withEmulator({ seed: 13, historyHours: 24, recordsPerHour: { ...RATES, 'Audit.General': 3000 } }, async (em) => {
      const generated = records(em, T0 - 24 * HOUR, T0);
      for (const rt of [28, 41, 47, 15, 8, 2, 50, 6, 25]) {
        const mine = new Set(generated.filter((r) => r.RecordType === rt).flatMap((r) => Object.keys(r)));
        const theirs = new Set(real.filter((r) => r.RecordType === rt).flatMap((r) => Object.keys(r)));
        // Real records of a type use field names we also produce (allowing a few rarities).
        const missing = [...theirs].filter((k) => !mine.has(k));
        assert.ok(missing.length <= Math.max(2, theirs.size * 0.2), `type ${rt}: real fields not generated: ${missing.join(', ')}`);
      }
    });
  });

  it('validates every generated record against schemas/ (both modes), and the broken ones do not', async () => {
    const strict = createValidator({ mode: 'strict' });
    const lenient = createValidator({ mode: 'default' });
    await withEmulator({ seed: 21, historyHours: 24, faults: { invalidRecordRate: 0.05 } }, async (em) => {
      const t = em.tenants[0].tenantId;
      const ids = em.ledger.recordIds(t, T0 - 24 * HOUR, T0, { includeExpired: true });
      const invalid = new Set(ids.invalid);
      assert.ok(invalid.size > 10);
      let checked = 0;
      for (const r of records(em, T0 - 24 * HOUR, T0)) {
        const bad = invalid.has(r.Id);
        for (const v of [strict, lenient]) {
          const res = v.validate(r);
          assert.equal(res.valid, !bad, `${v.mode} ${r.RecordType} ${r.Operation}: ${JSON.stringify(res.errors.slice(0, 3))}`);
        }
        checked++;
      }
      assert.equal(checked, ids.valid.length + ids.invalid.length + ids.duplicates);
    });
  });
});

describe('emulator: ledger and data faults', () => {
  it('accounts for what a receiver must get: listed blobs, record Ids, and what was served', async () => {
    await withEmulator({ seed: 31, profile: 'clean' }, async (em) => {
      const t = em.tenants[0].tenantId;
      const a = api(em, await token(em));
      const got = new Set<string>();
      for (const ct of ALL) {
        for (const x of (await a.list(ct, iso(T0 - 6 * HOUR), iso(T0))).json as Array<{ contentUri: string }>) {
          for (const r of (await a.get(x.contentUri)).json as Array<{ Id: string }>) got.add(r.Id);
        }
      }
      const ids = em.ledger.recordIds(t, T0 - 6 * HOUR, T0);
      assert.deepEqual([...got].sort(), [...ids.valid].sort());
      assert.equal(ids.invalid.length, 0);
      assert.equal(ids.duplicates, 0);
      assert.equal(em.ledger.servedContentIds(t).length, em.ledger.blobs(t, T0 - 6 * HOUR, T0).length);
      assert.equal(em.ledger.served().records, got.size);
    });
  });

  it('late content: contentCreated inside a window already listed, listed only later', async () => {
    const clock = { now: T0 };
    const em = await startEmulator({ seed: 41, now: () => clock.now, historyHours: 12, recordsPerHour: RATES, recordsPerBlob: 20, enabledAtStart: ALL, faults: { lateContentRate: 0.3, lateDelayMs: 40 * 60_000 } });
    try {
      const t = em.tenants[0].tenantId;
      const w0 = T0 - HOUR;
      const a = api(em, await token(em));
      const first = new Set(((await a.list('Audit.General', iso(w0), iso(T0))).json as Array<{ contentId: string }>).map((x) => x.contentId));
      const lateOnes = em.ledger.blobs(t, w0, T0, { contentType: 'Audit.General', asOf: T0 + HOUR }).filter((b) => b.late && b.visibleAt > T0);
      assert.ok(lateOnes.length > 0);
      for (const b of lateOnes) assert.ok(!first.has(b.contentId), 'not listed before it is published');
      clock.now = T0 + HOUR;
      const second = new Set(((await api(em, await token(em)).list('Audit.General', iso(w0), iso(T0))).json as Array<{ contentId: string }>).map((x) => x.contentId));
      for (const b of lateOnes) assert.ok(second.has(b.contentId), 'listed once published, same window');
    } finally {
      await em.stop();
    }
  });

  it('duplicates: a blob listed twice, and a record (same Id, other key order) in two blobs', async () => {
    await withEmulator({ seed: 43, faults: { duplicateListingRate: 0.3, duplicateRecordRate: 0.5 } }, async (em) => {
      const t = em.tenants[0].tenantId;
      const a = api(em, await token(em));
      const list = (await a.list('Audit.General', iso(T0 - 6 * HOUR), iso(T0))).json as Array<{ contentId: string; contentUri: string }>;
      const counts = new Map<string, number>();
      for (const x of list) counts.set(x.contentId, (counts.get(x.contentId) ?? 0) + 1);
      // The second announcement comes 10 minutes after the first.
      const twice = em.ledger.blobs(t, T0 - 6 * HOUR, T0, { contentType: 'Audit.General' }).filter((b) => b.listedTwice && b.visibleAt + 600_000 <= T0);
      assert.ok(twice.length > 0);
      for (const b of twice) assert.equal(counts.get(b.contentId), 2);

      const seen = new Map<string, Record<string, unknown>>();
      let dups = 0;
      for (const id of counts.keys()) {
        for (const r of (await a.get(list.find((x) => x.contentId === id)!.contentUri)).json as Array<Record<string, unknown>>) {
          const prev = seen.get(r.Id as string);
          if (prev) {
            dups++;
            assert.deepEqual(r, prev, 'same record');
            assert.notDeepEqual(Object.keys(r), Object.keys(prev), 'fields in another order');
          }
          seen.set(r.Id as string, r);
        }
      }
      assert.ok(dups > 0);
      const ids = em.ledger.recordIds(t, T0 - 6 * HOUR, T0, { contentType: 'Audit.General' });
      assert.equal(dups, ids.duplicates);
      // The streaming account agrees with the materialised one.
      assert.deepEqual(em.ledger.recordCounts(t, T0 - 6 * HOUR, T0, { contentType: 'Audit.General' }), {
        valid: ids.valid.length,
        invalid: ids.invalid.length,
        duplicates: ids.duplicates,
      });
    });
  });

  it('expired content: listed, then 410 AF20051 on fetch, and reported by the ledger', async () => {
    await withEmulator({ seed: 47, faults: { expiredContentRate: 0.3 } }, async (em) => {
      const t = em.tenants[0].tenantId;
      const expired = em.ledger.expiredContentIds(t, T0 - 6 * HOUR, T0, { contentType: 'Audit.General' });
      assert.ok(expired.length > 0);
      const a = api(em, await token(em));
      const list = (await a.list('Audit.General', iso(T0 - 6 * HOUR), iso(T0))).json as Array<{ contentId: string; contentUri: string }>;
      const x = list.find((e) => e.contentId === expired[0])!;
      assert.ok(x, 'still listed');
      const r = await a.get(x.contentUri);
      assert.equal(r.status, 410);
      assert.equal(r.json.error.code, 'AF20051');
      const withExpired = em.ledger.blobs(t, T0 - 6 * HOUR, T0, { contentType: 'Audit.General', includeExpired: true }).length;
      assert.equal(em.ledger.blobs(t, T0 - 6 * HOUR, T0, { contentType: 'Audit.General' }).length, withExpired - expired.length);
    });
  });

  it('disables a subscription mid-run after N listings (AF20023 from then on)', async () => {
    await withEmulator({ seed: 53, faults: { disableSubscriptionAfterListings: 3 } }, async (em) => {
      const a = api(em, await token(em));
      for (let i = 0; i < 2; i++) assert.equal((await a.list('Audit.Exchange')).status, 200);
      const r = await a.list('Audit.Exchange');
      assert.equal(r.json.error.code, 'AF20023');
      assert.equal((await a.list('Audit.General')).status, 200, 'other content types unaffected');
    });
  });
});
