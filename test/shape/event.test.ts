import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRouter, parseCreationTime, META_KEY } from '../../src/shape/event';
import type { EventTimeParts, ValidationResult } from '../../src/contracts';
import { packageRoot } from '../../src/paths';

const ok = (recordType: number | null, warnings: ValidationResult['warnings'] = []): ValidationResult => ({ valid: true, recordType, errors: [], warnings });
const ctx = { tenantId: '11111111-1111-1111-1111-111111111111', contentType: 'Audit.General', contentId: 'blob-1' };

function parse(s: unknown): EventTimeParts | null {
  const out = { sec: -1, nsec: -1 };
  return parseCreationTime(s, out) ? out : null;
}

describe('event time from CreationTime', () => {
  it('reads the API form (no zone) as UTC', () => {
    assert.deepEqual(parse('2015-06-29T20:03:19'), { sec: Date.UTC(2015, 5, 29, 20, 3, 19) / 1000, nsec: 0 });
  });

  it('keeps the fraction as nanoseconds', () => {
    const base = Date.UTC(2024, 2, 1, 10, 11, 12) / 1000;
    assert.deepEqual(parse('2024-03-01T10:11:12.1234567'), { sec: base, nsec: 123456700 });
    assert.deepEqual(parse('2024-03-01T10:11:12.5'), { sec: base, nsec: 500000000 });
    assert.deepEqual(parse('2024-03-01T10:11:12.123456789'), { sec: base, nsec: 123456789 });
    assert.deepEqual(parse('2024-03-01T10:11:12.1234567891'), { sec: base, nsec: 123456789 }, 'beyond ns: truncated');
  });

  it('accepts Z and explicit offsets', () => {
    const base = Date.UTC(2024, 2, 1, 10, 11, 12) / 1000;
    assert.deepEqual(parse('2024-03-01T10:11:12Z'), { sec: base, nsec: 0 });
    assert.deepEqual(parse('2024-03-01T10:11:12.25Z'), { sec: base, nsec: 250000000 });
    assert.deepEqual(parse('2024-03-01T12:11:12+02:00'), { sec: base, nsec: 0 });
    assert.deepEqual(parse('2024-03-01T05:11:12-05:00'), { sec: base, nsec: 0 });
  });

  it('agrees with Date.parse across dates (leap years, month ends)', () => {
    for (const s of ['1970-01-01T00:00:00', '2000-02-29T23:59:59', '2024-12-31T23:59:59', '2100-03-01T00:00:00', '2038-01-19T03:14:08']) {
      assert.equal(parse(s)?.sec, Date.parse(s + 'Z') / 1000, s);
    }
  });

  it('rejects what is not a timestamp', () => {
    for (const s of [undefined, null, 12345, '', '2024-03-01', '2024-13-01T00:00:00', '2023-02-29T00:00:00', '2024-03-01T24:00:00', '2024-03-01T10:11:12.', '2024-03-01T10:11:12+0200', '2024-03-01T10:11:12 junk', '1969-12-31T23:59:59', 'abcd-ef-ghTij:kl:mn']) {
      assert.equal(parse(s), null, String(s));
    }
  });
});

describe('router', () => {
  const router = createRouter({ tagPrefix: 'o365', now: () => 1_700_000_000_123 });

  it("keeps a record's own o365_bridge key; ours goes beside it under a free name, with a warning", () => {
    const own = { theirs: true };
    const record: Record<string, unknown> = { Id: 'x', RecordType: 28, CreationTime: '2024-03-01T10:11:12', o365_bridge: own, o365_bridge_: 'also theirs' };
    const ev = router.route(record, ok(28), ctx);
    assert.equal(ev.record.o365_bridge, own, 'untouched');
    assert.equal(ev.record.o365_bridge_, 'also theirs');
    const meta = ev.record.o365_bridge__ as { content_id: string; warnings: Array<{ keyword: string; message: string }> };
    assert.equal(meta.content_id, 'blob-1');
    assert.equal(meta.warnings[0].keyword, 'collision');
    assert.match(meta.warnings[0].message, /under "o365_bridge__"/);
  });

  it('passes the record object itself on, adding only o365_bridge metadata', () => {
    const record: Record<string, unknown> = { Id: 'x', RecordType: 28, CreationTime: '2024-03-01T10:11:12', Operation: 'TIMailData' };
    const keys = Object.keys(record);
    const ev = router.route(record, ok(28), ctx);
    assert.ok(ev.record === record, 'not a copy');
    assert.deepEqual(Object.keys(record), [...keys, META_KEY]);
    assert.equal(ev.tag, 'o365.audit.general.threat_intelligence');
    assert.deepEqual(ev.time, { sec: Date.UTC(2024, 2, 1, 10, 11, 12) / 1000, nsec: 0 });
    assert.deepEqual(record[META_KEY], { tenant: ctx.tenantId, content_type: 'Audit.General', content_id: 'blob-1', record_type_name: 'ThreatIntelligence' });
  });

  it('shares one frozen metadata object per blob and record type among valid records without warnings', () => {
    const r = createRouter({ tagPrefix: 'o365' });
    const rec = (rt: number) => ({ Id: String(Math.random()), RecordType: rt, CreationTime: '2024-03-01T10:11:12' });
    const a = r.route(rec(28), ok(28), ctx).record[META_KEY];
    const b = r.route(rec(28), ok(28), { ...ctx }).record[META_KEY];
    const c = r.route(rec(41), ok(41), ctx).record[META_KEY];
    const d = r.route(rec(28), ok(28), { ...ctx, contentId: 'blob-2' }).record[META_KEY];
    assert.ok(a === b, 'same blob, same record type: one object');
    assert.ok(a !== c && a !== d, 'another record type or blob: another object');
    assert.ok(Object.isFrozen(a), 'frozen: a change would alter every record sharing it');
    assert.deepEqual(d, { tenant: ctx.tenantId, content_type: 'Audit.General', content_id: 'blob-2', record_type_name: 'ThreatIntelligence' });
    const w = [{ path: '/Policy', message: 'value not in the documented enum', keyword: 'x-docEnum' }];
    const withWarnings = r.route(rec(28), ok(28, w), ctx).record[META_KEY];
    const invalid = r.route(rec(28), { valid: false, recordType: 28, errors: [{ path: '', message: 'x', keyword: 'required' }], warnings: [] }, ctx).record[META_KEY];
    assert.ok(withWarnings !== a && invalid !== a && !Object.isFrozen(withWarnings) && !Object.isFrozen(invalid), 'records with notes get their own');
  });

  it('adds warnings only when there are some', () => {
    const w = [{ path: '/Policy', message: 'value not in the documented enum', keyword: 'x-docEnum' }];
    const ev = router.route({ RecordType: 41, CreationTime: '2024-03-01T10:11:12' }, ok(41, w), ctx);
    assert.equal(ev.tag, 'o365.audit.general.threat_intelligence_url');
    assert.deepEqual((ev.record[META_KEY] as Record<string, unknown>).warnings, w);
    assert.ok(!('errors' in (ev.record[META_KEY] as object)));
  });

  it('routes invalid records under invalid with their errors', () => {
    const errors = [{ path: '', message: "must have required property 'Operation'", keyword: 'required' }];
    const ev = router.route({ RecordType: 64, CreationTime: '2024-03-01T10:11:12.5' }, { valid: false, recordType: 64, errors, warnings: [] }, ctx);
    assert.equal(ev.tag, 'o365.invalid.audit.general.air_investigation');
    assert.equal(ev.time.nsec, 500000000);
    assert.deepEqual(ev.record[META_KEY], { tenant: ctx.tenantId, content_type: 'Audit.General', content_id: 'blob-1', record_type_name: 'AirInvestigation', errors });
  });

  it('stamps a record without a usable CreationTime with the current time', () => {
    const ev = router.route({ RecordType: 'x' }, { valid: false, recordType: null, errors: [{ path: '/RecordType', message: 'must be integer', keyword: 'type' }], warnings: [] }, ctx);
    assert.equal(ev.tag, 'o365.invalid.audit.general.unknown');
    assert.deepEqual(ev.time, { sec: 1_700_000_000, nsec: 123_000_000 });
    assert.equal((ev.record[META_KEY] as Record<string, unknown>).record_type_name, null);
  });

  it('unlisted record types: number in the tag, no name', () => {
    const ev = router.route({ RecordType: 9999, CreationTime: '2024-03-01T10:11:12' }, ok(9999), { ...ctx, contentType: 'Audit.Exchange' });
    assert.equal(ev.tag, 'o365.audit.exchange.9999');
    assert.equal((ev.record[META_KEY] as Record<string, unknown>).record_type_name, null);
  });

  it('switches content types between blobs', () => {
    assert.equal(router.route({ CreationTime: '2024-03-01T10:11:12' }, ok(15), { ...ctx, contentType: 'Audit.AzureActiveDirectory' }).tag, 'o365.audit.azure_active_directory.azure_active_directory_sts_logon');
    assert.equal(router.route({ CreationTime: '2024-03-01T10:11:12' }, ok(2), { ...ctx, contentType: 'Audit.Exchange' }).tag, 'o365.audit.exchange.exchange_item');
    assert.equal(router.route({ CreationTime: '2024-03-01T10:11:12' }, ok(13), { ...ctx, contentType: 'DLP.All' }).tag, 'o365.dlp.all.compliance_dlp_exchange');
  });

  it('routes the shared real records: every CreationTime parses, every tag is well formed', function () {
    const file = path.join(packageRoot, '..', 'shared', 'samples', 'real-records.ndjson');
    if (!fs.existsSync(file)) this.skip();
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
    const strict = createRouter({ tagPrefix: 'o365', now: () => 0 });
    for (const line of lines) {
      const rec = JSON.parse(line) as Record<string, unknown>;
      const rt = Number.isInteger(rec.RecordType) ? (rec.RecordType as number) : null;
      const ev = strict.route(rec, ok(rt), ctx);
      assert.ok(ev.time.sec > 1_400_000_000, `CreationTime ${String(rec.CreationTime)} parsed`);
      assert.equal(ev.time.sec * 1000 + Math.floor(ev.time.nsec / 1e6), Date.parse(/Z$/.test(String(rec.CreationTime)) ? String(rec.CreationTime) : rec.CreationTime + 'Z'));
      assert.match(ev.tag, /^o365\.audit\.general\.[a-z0-9_]+$/);
      assert.notEqual(ev.tag, 'o365.audit.general.unknown');
    }
  });
});
