import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { createValidator } from '../../src/schema/validator';
import { REAL_RECORDS, type Rec } from './helpers';

const GUID = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;

/**
 * Undo the publisher's anonymisation (see ../shared/samples/README.md), never the shapes: non-GUID
 * Id/OrganizationId ('ANONYMIZED', 'uuid-1'...) become GUIDs, and AIR records' Workload 'user1'
 * becomes the 'AirInvestigation' every real AIR record carries.
 */
function normalise(r: Rec, i: number): Rec {
  const out = { ...r };
  const fake = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  if (typeof out.Id === 'string' && !GUID.test(out.Id)) out.Id = fake(i);
  if (typeof out.OrganizationId === 'string' && !GUID.test(out.OrganizationId)) out.OrganizationId = fake(999_999);
  if (out.RecordType === 64 && out.Workload === 'user1') out.Workload = 'AirInvestigation';
  return out;
}

describe('schema/validator on the real (anonymised) records', function () {
  let records: Rec[] = [];

  before(function () {
    if (!fs.existsSync(REAL_RECORDS)) this.skip();
    records = fs
      .readFileSync(REAL_RECORDS, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Rec);
  });

  it('reads the whole sample, all Defender types included', () => {
    assert.ok(records.length >= 70);
    for (const t of [28, 41, 47, 64]) assert.ok(records.some((r) => r.RecordType === t), `type ${t}`);
  });

  it('every record validates in default mode', () => {
    const v = createValidator();
    const failures = records.map((r, i) => ({ i, res: v.validate(normalise(r, i)) })).filter((x) => !x.res.valid);
    assert.deepEqual(failures.map((f) => ({ line: f.i + 1, errors: f.res.errors })), []);
  });

  it('only undocumented RecordTypes warn; the Defender records are clean in strict mode too', () => {
    const v = createValidator();
    const s = createValidator({ mode: 'strict' });
    records.forEach((r, i) => {
      const n = normalise(r, i);
      const res = v.validate(n);
      for (const w of res.warnings) assert.equal(w.path, '/RecordType', `line ${i + 1}: ${JSON.stringify(w)}`);
      if ([28, 41, 47, 64].includes(r.RecordType)) assert.deepEqual(s.validate(n).errors, [], `line ${i + 1}`);
    });
  });

  it('without normalisation, the anonymised values are what fails (the schema stays strict on GUIDs)', () => {
    const v = createValidator();
    const res = v.validate(records.find((r) => r.OrganizationId === 'ANONYMIZED'));
    assert.equal(res.valid, false);
    assert.deepEqual(res.errors.map((e) => [e.path, e.keyword]).filter(([p]) => p === '/OrganizationId'), [['/OrganizationId', 'format']]);
  });
});
