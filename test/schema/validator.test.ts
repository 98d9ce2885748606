import { strict as assert } from 'node:assert';
import { createValidator, MAX_ISSUES, specificRecordTypes } from '../../src/schema/validator';
import type { ValidationResult } from '../../src/contracts';
import { docExamples, sampleBlob, sampleOf, type Rec } from './helpers';
import { MAX_WARNINGS } from '../../src/schema/doc-enum';

const lenient = createValidator();
const strict = createValidator({ mode: 'strict' });

/** Asserts the record is invalid in both modes with exactly this (path, keyword) among its errors. */
function expectError(rec: unknown, path: string, keyword: string): ValidationResult {
  let last: ValidationResult | undefined;
  for (const v of [lenient, strict]) {
    const res = v.validate(rec);
    assert.equal(res.valid, false, `${v.mode}: expected invalid`);
    assert.ok(
      res.errors.some((e) => e.path === path && e.keyword === keyword),
      `${v.mode}: expected ${keyword} at ${path}, got ${JSON.stringify(res.errors)}`,
    );
    last = res;
  }
  return last!;
}

/** A value outside a documented enum: a warning by default (still valid), an error in strict mode. */
function expectDocEnum(rec: unknown, path: string): void {
  const d = lenient.validate(rec);
  assert.equal(d.valid, true, `default: expected valid, got ${JSON.stringify(d.errors)}`);
  assert.deepEqual(
    d.warnings.map((w) => [w.path, w.keyword]),
    [[path, 'x-docEnum']],
  );
  const s = strict.validate(rec);
  assert.equal(s.valid, false, 'strict: expected invalid');
  assert.deepEqual(
    s.errors.map((e) => [e.path, e.keyword]),
    [[path, 'x-docEnum']],
  );
}

function expectClean(rec: unknown): void {
  for (const v of [lenient, strict]) {
    const res = v.validate(rec);
    assert.deepEqual(res.errors, [], `${v.mode} errors`);
    assert.deepEqual(res.warnings, [], `${v.mode} warnings`);
    assert.equal(res.valid, true);
  }
}

const clone = <T>(x: T): T => structuredClone(x);

describe('schema/validator', () => {
  describe('fixtures', () => {
    it('has schemas of its own for 28, 41, 47 and 64', () => {
      assert.deepEqual([...specificRecordTypes()], [28, 41, 47, 64]);
    });

    for (const { name, record } of docExamples()) {
      it(`documentation-shaped example ${name} validates cleanly in both modes`, () => {
        expectClean(record);
        assert.equal(lenient.validate(record).recordType, record.RecordType);
      });
    }

    it('every record of the shipped sample blob validates cleanly in both modes', () => {
      const blob = sampleBlob();
      assert.ok(blob.length >= 10);
      for (const r of blob) expectClean(r);
    });
  });

  describe('common schema', () => {
    const base = () => sampleOf(15);

    it('requires the common fields, pointing at the missing member', () => {
      for (const f of ['Id', 'RecordType', 'CreationTime', 'Operation', 'OrganizationId', 'UserType', 'UserKey', 'Workload', 'UserId']) {
        const r = base();
        delete r[f];
        expectError(r, `/${f}`, 'required');
      }
    });

    it('rejects malformed GUIDs in Id and OrganizationId', () => {
      expectError({ ...base(), Id: 'ANONYMIZED' }, '/Id', 'format');
      expectError({ ...base(), OrganizationId: '{d7a1c2e4-3b5f-4e6a-9c8d-1f2e3a4b5c6d}' }, '/OrganizationId', 'format');
    });

    it('CreationTime: the API format, trailing Z accepted, offsets and impossible dates rejected', () => {
      expectClean({ ...base(), CreationTime: '2025-10-15T06:50:14Z' });
      expectClean({ ...base(), CreationTime: '2025-10-15T06:50:14.1234567' });
      expectError({ ...base(), CreationTime: '2025-10-15T06:50:14+02:00' }, '/CreationTime', 'format');
      expectError({ ...base(), CreationTime: '2025-02-30T06:50:14' }, '/CreationTime', 'format');
      expectError({ ...base(), CreationTime: 'yesterday' }, '/CreationTime', 'format');
      expectError({ ...base(), CreationTime: 1741680892 }, '/CreationTime', 'type');
    });

    it('wrong types are errors in every mode', () => {
      expectError({ ...base(), UserType: '0' }, '/UserType', 'type');
      expectError({ ...base(), Operation: 7 }, '/Operation', 'type');
      expectError({ ...base(), Version: 1.5 }, '/Version', 'type');
    });

    it('undocumented UserType / RecordType / Scope values are warnings, errors when strict', () => {
      expectDocEnum({ ...base(), UserType: 42 }, '/UserType');
      expectDocEnum({ ...base(), RecordType: 155 }, '/RecordType');
      expectDocEnum({ ...base(), Scope: 2 }, '/Scope');
      expectClean({ ...base(), Scope: 'Onprem' });
    });

    it('ClientIP: optional, null, with port, <null>, empty; garbage rejected', () => {
      for (const ok of [null, '', '<null>', '1.2.3.4:63070', '::ffff:1.2.3.4', '2001:db8::1']) expectClean({ ...base(), ClientIP: ok });
      const r = base();
      delete r.ClientIP;
      expectClean(r);
      expectError({ ...base(), ClientIP: 'not-an-ip' }, '/ClientIP', 'format');
      expectError({ ...base(), ClientIP: 16909060 }, '/ClientIP', 'type');
    });

    it('AppAccessContext: an object or a collection, members typed', () => {
      expectClean({ ...base(), AppAccessContext: [{ ClientAppId: 'x' }] });
      expectError({ ...base(), AppAccessContext: { ClientAppId: 5 } }, '/AppAccessContext/ClientAppId', 'type');
      expectError({ ...base(), AppAccessContext: [{}, { UniqueTokenId: false }] }, '/AppAccessContext/1/UniqueTokenId', 'type');
      const res = expectError({ ...base(), AppAccessContext: 'ctx' }, '/AppAccessContext', 'type');
      assert.ok(!res.errors.some((e) => e.keyword === 'if'), 'no opaque "if" errors');
    });

    it('a type without a schema of its own is checked against the common schema only', () => {
      const r = { ...base(), RecordType: 2, AnythingElse: { deep: [1, 2, 3] } };
      expectClean(r);
      assert.equal(lenient.validate(r).recordType, 2);
      expectError({ ...r, UserKey: null }, '/UserKey', 'type');
    });

    it('unknown properties are allowed everywhere', () => {
      const r = sampleOf(28);
      r.BrandNewField = { a: 1 };
      r.AttachmentData[0].NewMember = 'x';
      r.AuthDetails[0].Extra = [];
      expectClean(r);
    });
  });

  describe('28 ThreatIntelligence (email)', () => {
    const base = () => sampleOf(28);

    it('requires the fields records always carry', () => {
      for (const f of ['NetworkMessageId', 'InternetMessageId', 'DeliveryAction', 'MessageTime', 'SenderIp', 'Recipients', 'Verdict']) {
        const r = base();
        delete r[f];
        expectError(r, `/${f}`, 'required');
      }
    });

    it('Policy, PolicyAction and ThreatsAndDetectionTech may be absent (records omit them)', () => {
      const r = base();
      delete r.Policy;
      delete r.PolicyAction;
      delete r.ThreatsAndDetectionTech;
      delete r.ClientIP;
      expectClean(r);
    });

    it('AttachmentData members: required, typed, FileVerdict documented values', () => {
      const r = base();
      delete r.AttachmentData[0].SHA256;
      expectError(r, '/AttachmentData/0/SHA256', 'required');
      const t = base();
      t.AttachmentData[0].FileName = 12;
      expectError(t, '/AttachmentData/0/FileName', 'type');
      const v = base();
      v.AttachmentData[0].FileVerdict = 7;
      expectDocEnum(v, '/AttachmentData/0/FileVerdict');
      const s = base();
      s.AttachmentData[0].FileVerdict = '1';
      expectClean(s);
      const p = base();
      p.AttachmentData[0].FileVerdict = 'bad';
      expectError(p, '/AttachmentData/0/FileVerdict', 'pattern');
      expectError({ ...base(), AttachmentData: {} }, '/AttachmentData', 'type');
    });

    it('DetectionType and PhishConfidenceLevel outside the docs: warning / strict error', () => {
      expectDocEnum({ ...base(), DetectionType: 'Later' }, '/DetectionType');
      expectDocEnum({ ...base(), PhishConfidenceLevel: 'Medium' }, '/PhishConfidenceLevel');
    });

    it('Policy / PolicyAction: documented integers, or strings (PolicyAction case-insensitively)', () => {
      expectClean({ ...base(), Policy: 15, PolicyAction: 8 });
      expectClean({ ...base(), Policy: 'HighConfidencePhish', PolicyAction: 'MoveToJmf' });
      expectDocEnum({ ...base(), Policy: 16 }, '/Policy');
      expectDocEnum({ ...base(), PolicyAction: 'Explode' }, '/PolicyAction');
      expectDocEnum({ ...base(), PolicyAction: 9 }, '/PolicyAction');
      expectError({ ...base(), Policy: true }, '/Policy', 'type');
    });

    it('malformed IP, date and wrong collection types are errors', () => {
      expectError({ ...base(), SenderIp: '300.1.1.1' }, '/SenderIp', 'format');
      expectError({ ...base(), MessageTime: '2025-03-11T08:14' }, '/MessageTime', 'format');
      expectError({ ...base(), Recipients: 'alex@contoso.example' }, '/Recipients', 'type');
      expectError({ ...base(), Recipients: ['ok@contoso.example', 5] }, '/Recipients/1', 'type');
      const r = base();
      r.AuthDetails[1].Value = 1;
      expectError(r, '/AuthDetails/1/Value', 'type');
      expectError({ ...base(), SystemOverrides: [{ Result: {} }] }, '/SystemOverrides/0/Result', 'type');
    });

    it('an unexpected Operation or Workload for the type is a documented-value warning', () => {
      expectDocEnum({ ...base(), Workload: 'Exchange' }, '/Workload');
      expectDocEnum({ ...base(), Operation: 'TIUrlClickData' }, '/Operation');
    });
  });

  describe('41 ThreatIntelligenceUrl', () => {
    const base = () => sampleOf(41);

    it('requires AppName, SourceId, TimeOfClick, Url, UserIp; URLClickAction optional', () => {
      for (const f of ['AppName', 'SourceId', 'TimeOfClick', 'Url', 'UserIp']) {
        const r = base();
        delete r[f];
        expectError(r, `/${f}`, 'required');
      }
      expectClean({ ...base(), URLClickAction: 5 });
    });

    it('URLClickAction: documented values only warn; wrong type is an error', () => {
      expectDocEnum({ ...base(), URLClickAction: 9 }, '/URLClickAction');
      expectDocEnum({ ...base(), UrlClickAction: 7 }, '/UrlClickAction');
      expectError({ ...base(), URLClickAction: '2' }, '/URLClickAction', 'type');
    });

    it('malformed UserIp and TimeOfClick are errors', () => {
      expectError({ ...base(), UserIp: '198.51.100' }, '/UserIp', 'format');
      expectError({ ...base(), TimeOfClick: '03/11/2025 09:29:12' }, '/TimeOfClick', 'format');
    });
  });

  describe('47 ThreatIntelligenceAtpContent', () => {
    const base = () => sampleOf(47);

    it('requires FileData and its members', () => {
      const r = base();
      delete r.FileData;
      expectError(r, '/FileData', 'required');
      for (const f of ['DocumentId', 'FileName', 'FilePath', 'FileVerdict', 'SHA256', 'FileSize']) {
        const m = base();
        delete m.FileData[f];
        expectError(m, `/FileData/${f}`, 'required');
      }
    });

    it('SourceWorkload, LastModifiedDate, LastModifiedBy may be absent (records omit them)', () => {
      expectClean(sampleOf(47, 1));
      assert.equal(sampleOf(47, 1).SourceWorkload, undefined);
    });

    it('FileSize is a numeric string; FileVerdict and SourceWorkload documented values', () => {
      const r = base();
      r.FileData.FileSize = '48 KB';
      expectError(r, '/FileData/FileSize', 'pattern');
      const v = base();
      v.FileData.FileVerdict = 5;
      expectDocEnum(v, '/FileData/FileVerdict');
      expectDocEnum({ ...base(), SourceWorkload: 3 }, '/SourceWorkload');
      expectError({ ...base(), SourceWorkload: 'Teams' }, '/SourceWorkload', 'type');
      expectError({ ...base(), FileData: [] }, '/FileData', 'type');
      expectError({ ...base(), LastModifiedDate: '2025-03-11T11:18:44+00:00' }, '/LastModifiedDate', 'format');
    });
  });

  describe('64 AirInvestigation', () => {
    const base = () => sampleOf(64); // Actions as JSON strings
    const withObjects = () => sampleOf(64, 1); // Actions as objects

    it('requires InvestigationId, InvestigationType, Status', () => {
      for (const f of ['InvestigationId', 'InvestigationType', 'Status']) {
        const r = base();
        delete r[f];
        expectError(r, `/${f}`, 'required');
      }
    });

    it('Status outside the documented list: warning / strict error', () => {
      expectDocEnum({ ...base(), Status: 'Paused' }, '/Status');
    });

    it('Actions: JSON strings or objects; other types are errors', () => {
      expectClean(base());
      expectClean(withObjects());
      expectError({ ...base(), Actions: [42] }, '/Actions/0', 'type');
      expectError({ ...base(), Actions: 'x' }, '/Actions', 'type');
    });

    it('object Actions are checked member by member, with precise paths', () => {
      const a = withObjects();
      a.Actions[0].ActionStatus = 'Bogus';
      expectDocEnum(a, '/Actions/0/ActionStatus');
      const b = withObjects();
      b.Actions[0].Entities[0].Files[0].FileHashes[0].Algorithm = 'CRC32';
      expectDocEnum(b, '/Actions/0/Entities/0/Files/0/FileHashes/0/Algorithm');
      const c = withObjects();
      c.Actions[0].RelatedAlertIds = 'a0b1';
      expectError(c, '/Actions/0/RelatedAlertIds', 'type');
      const d = withObjects();
      d.Actions[0].Entities[0].Subject = 5;
      const res = expectError(d, '/Actions/0/Entities/0/Subject', 'type');
      assert.ok(!res.errors.some((e) => e.keyword === 'if'), 'no opaque "if" errors');
    });

    it('Data is a JSON string; dates and RunningTime typed', () => {
      expectError({ ...base(), Data: { Version: '3.0' } }, '/Data', 'type');
      expectError({ ...base(), StartTimeUtc: '2025-03-11T13:02:49.5027713+01:00' }, '/StartTimeUtc', 'format');
      expectClean({ ...base(), RunningTime: '619' });
      expectError({ ...base(), RunningTime: true }, '/RunningTime', 'type');
    });
  });

  describe('hostile input', () => {
    it('non-objects give an invalid result, never an exception', () => {
      for (const x of [undefined, null, 0, 42, 'record', true, [], [sampleOf(28)], () => 1, Symbol('s'), 10n]) {
        for (const v of [lenient, strict]) {
          const res = v.validate(x);
          assert.equal(res.valid, false);
          assert.equal(res.recordType, null);
          assert.deepEqual(res.errors.map((e) => [e.path, e.keyword]), [['', 'type']]);
        }
      }
    });

    it('RecordType missing or not an integer: recordType null, checked against the common schema', () => {
      const r = sampleOf(28);
      for (const rt of [undefined, '28', 28.5, null, { n: 28 }]) {
        const res = lenient.validate({ ...r, RecordType: rt });
        assert.equal(res.valid, false);
        assert.equal(res.recordType, null);
        assert.equal(res.errors[0].path, '/RecordType');
      }
      // Huge and negative integers are integers: common schema + a documented-value warning.
      for (const rt of [2 ** 53, -1, 1e6]) {
        const res = lenient.validate({ ...r, RecordType: rt });
        assert.equal(res.valid, true);
        assert.equal(res.recordType, rt);
        assert.equal(res.warnings[0].keyword, 'x-docEnum');
      }
    });

    it('__proto__ and constructor keys neither throw nor pollute prototypes', () => {
      const text = JSON.stringify(sampleOf(28)).replace(/^\{/, '{"__proto__":{"polluted":true,"RecordType":64},"constructor":{"prototype":{"polluted":true}},');
      const rec = JSON.parse(text) as Rec;
      const res = lenient.validate(rec);
      assert.equal(res.valid, true);
      assert.equal(res.recordType, 28);
      assert.equal(({} as Rec).polluted, undefined);
      assert.equal((Object.prototype as Rec).polluted, undefined);
      const weird = lenient.validate(JSON.parse('{"__proto__": 1, "constructor": null, "RecordType": 28}'));
      assert.equal(weird.valid, false);
      assert.equal(({} as Rec).polluted, undefined);
    });

    it('an undocumented value: the same message in both modes, naming the value and the documented ones; nothing left over for the next record', () => {
      const rec = { ...sampleOf(28), DetectionType: 'Sideways' };
      const w = lenient.validate(rec).warnings;
      const e = strict.validate(rec).errors;
      assert.equal(w.length, 1);
      assert.equal(e.length, 1);
      assert.equal(w[0].message, e[0].message);
      assert.match(w[0].message, /^"Sideways" is not a documented value \(documented: .*"Inline"/);
      // The warning sink is per record: a clean record right after carries none.
      expectClean(sampleOf(28));
    });

    it('10 MB strings are handled without throwing', () => {
      const big = 'a'.repeat(10 * 1024 * 1024);
      expectError({ ...sampleOf(28), Id: big }, '/Id', 'format');
      expectError({ ...sampleOf(28), CreationTime: '2025-03-11T08:14:52' + '0'.repeat(10 * 1024 * 1024) }, '/CreationTime', 'format');
      expectError({ ...sampleOf(28), SenderIp: big }, '/SenderIp', 'format');
      expectDocEnum({ ...sampleOf(28), DetectionType: big }, '/DetectionType');
      assert.ok(lenient.validate({ ...sampleOf(28), DetectionType: big }).warnings[0].message.length < 400, 'message stays short');
      expectClean({ ...sampleOf(28), Subject: big });
    });

    it('nesting 10,000 deep is handled without throwing', () => {
      const deepText = '['.repeat(10000) + ']'.repeat(10000);
      const deep = JSON.parse(deepText) as unknown;
      expectClean({ ...sampleOf(28), Unknown: deep });
      expectError({ ...sampleOf(28), AttachmentData: deep }, '/AttachmentData/0', 'type');
      let obj: Rec = {};
      for (let i = 0; i < 10000; i++) obj = { a: obj };
      expectClean({ ...sampleOf(64), Extra: obj });
      expectClean({ ...sampleOf(64), Actions: [obj] });
      expectError({ ...sampleOf(64), Actions: [{ Entities: deep }] }, '/Actions/0/Entities/0', 'type');
    });

    it('throwing getters and proxies give an invalid result', () => {
      const r = sampleOf(28);
      Object.defineProperty(r, 'Subject', { enumerable: true, get: () => { throw new Error('boom'); } });
      const res = lenient.validate(r);
      assert.equal(res.valid, false);
      assert.equal(res.errors[0].keyword, 'exception');
      const p = new Proxy({}, { get: () => { throw new Error('trap'); }, has: () => { throw new Error('trap'); } });
      assert.equal(lenient.validate(p).valid, false);
      // The validator is still usable afterwards, and warnings didn't leak from the failed call.
      expectClean(sampleOf(41));
    });

    it('caps the number of issues reported for one record', () => {
      const res = lenient.validate({ ...sampleOf(28), Recipients: new Array(100_000).fill(1) });
      assert.equal(res.valid, false);
      assert.equal(res.errors.length, MAX_ISSUES + 1);
      assert.equal(res.errors[MAX_ISSUES].keyword, 'truncated');
    });
  });

  describe('hot path and modes', () => {
    it('a valid record without warnings gets a shared frozen result per RecordType', () => {
      const a = lenient.validate(sampleOf(28));
      const b = lenient.validate(sampleOf(28, 1));
      assert.equal(a, b);
      assert.ok(Object.isFrozen(a));
      assert.ok(Object.isFrozen(a.errors) && Object.isFrozen(a.warnings));
      const c = lenient.validate(sampleOf(41));
      assert.notEqual(a, c);
      assert.equal(c.recordType, 41);
      assert.equal(a.recordType, 28);
    });

    it('warnings are per record: they do not carry over to the next validation', () => {
      const warned = lenient.validate({ ...sampleOf(41), URLClickAction: 9 });
      assert.equal(warned.warnings.length, 1);
      assert.deepEqual(lenient.validate(sampleOf(41)).warnings, []);
      assert.equal(warned.warnings.length, 1, 'earlier result unchanged');
    });

    it('modes are independent and compiled once (a new validator shares the compiled set)', () => {
      const again = createValidator({ mode: 'default' });
      const rec = { ...sampleOf(28), DetectionType: 'Later' };
      assert.equal(again.validate(rec).valid, true);
      assert.equal(createValidator({ mode: 'strict' }).validate(rec).valid, false);
      assert.equal(again.validate(rec).valid, true);
      assert.equal(again.validate(sampleOf(28)), lenient.validate(sampleOf(28)), 'same cache, same shared result');
      assert.equal(again.mode, 'default');
      assert.equal(strict.mode, 'strict');
    });
  });

  it('warnings per record are bounded: 30,000 attachments outside an enum give 20 warnings and one count', () => {
    const rec = sampleOf(28);
    const one = { FileName: 'a.exe', FileType: 'exe', FileVerdict: 7, SHA256: 'ab' };
    const res = lenient.validate({ ...rec, AttachmentData: Array.from({ length: 30_000 }, () => ({ ...one })) });
    assert.equal(res.valid, true);
    assert.equal(res.warnings.length, MAX_WARNINGS + 1);
    assert.equal(res.warnings[0].path, '/AttachmentData/0/FileVerdict');
    assert.deepEqual(res.warnings[MAX_WARNINGS], { path: '', message: `${30_000 - MAX_WARNINGS} more values outside documented enums, not listed`, keyword: 'truncated' });
    assert.ok(JSON.stringify(res.warnings).length < 8000);
    // The next record starts afresh.
    assert.deepEqual(lenient.validate(rec).warnings, []);
  });
});
