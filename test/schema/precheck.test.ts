/**
 * The yes/no pre-check (src/schema/fast.ts) may only shortcut records ajv finds valid without
 * warnings: every result must equal ajv's alone (`precheck: false`), for valid records, invalid ones,
 * out-of-enum values and hostile input alike.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createValidator, precheckedTypes, precheckSkipping, SKIP_RECORDS, specificRecordTypes, SCHEMA_BASE_URI } from '../../src/schema/validator';
import { compileFast, FastUnsupported, MAX_DEPTH, type FastDeps } from '../../src/schema/fast';
import { RECORD_FORMATS } from '../../src/schema/formats';
import { packageRoot, schemasDir } from '../../src/paths';
import type { RecordValidator, ValidationMode } from '../../src/contracts';
import { Rng } from '../../src/emulator/rand';
import { recordTime } from '../../src/emulator/time';
import { tenantIdentity } from '../../src/emulator/records/identity';
import { AAD_MIX } from '../../src/emulator/records/aad';
import { DLP_MIX } from '../../src/emulator/records/dlp';
import { EXCHANGE_MIX } from '../../src/emulator/records/exchange';
import { GENERAL_MIX } from '../../src/emulator/records/general';
import { SHAREPOINT_MIX } from '../../src/emulator/records/sharepoint';
import type { RecordContext } from '../../src/emulator/records/common';
import { docExamples, REAL_RECORDS, sampleBlob, type Rec } from './helpers';

const MODES: ValidationMode[] = ['default', 'strict'];
// 'always': the adaptive default would stop pre-checking types the (mostly invalid) mutants keep failing.
const both: Record<ValidationMode, { fast: RecordValidator; full: RecordValidator; adaptive: RecordValidator }> = {
  default: { fast: createValidator({ precheck: 'always' }), full: createValidator({ precheck: false }), adaptive: createValidator() },
  strict: { fast: createValidator({ mode: 'strict', precheck: 'always' }), full: createValidator({ mode: 'strict', precheck: false }), adaptive: createValidator({ mode: 'strict' }) },
};

let compared = 0;
let fullValid = 0;
let fullInvalid = 0;
let fullWarned = 0;

/** Both paths, both modes: identical results (valid, recordType, errors, warnings). */
function same(rec: unknown, what: string): void {
  for (const mode of MODES) {
    const a = both[mode].fast.validate(rec);
    const b = both[mode].full.validate(rec);
    assert.deepStrictEqual(a, b, `${mode}: ${what}`);
    assert.deepStrictEqual(both[mode].adaptive.validate(rec), b, `${mode} (adaptive): ${what}`);
    compared++;
    if (mode === 'default') {
      if (!b.valid) fullInvalid++;
      else if (b.warnings.length) fullWarned++;
      else fullValid++;
    }
  }
}

function loadSchemas(): Map<string, object> {
  const out = new Map<string, object>();
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const f = path.join(dir, e.name);
      if (e.isDirectory()) walk(f);
      else if (e.name.endsWith('.schema.json')) {
        const s = JSON.parse(fs.readFileSync(f, 'utf8')) as { $id: string };
        out.set(s.$id, s);
      }
    }
  };
  walk(schemasDir);
  return out;
}

/** Every property name the schemas mention: the mutations put them anywhere in a record. */
function schemaPropertyNames(schemas: Map<string, object>): string[] {
  const names = new Set<string>();
  const visit = (s: unknown): void => {
    if (s === null || typeof s !== 'object') return;
    if (Array.isArray(s)) return s.forEach(visit);
    for (const [k, v] of Object.entries(s as Record<string, unknown>)) {
      if ((k === 'properties' || k === '$defs') && v && typeof v === 'object') {
        if (k === 'properties') for (const n of Object.keys(v)) names.add(n);
        for (const sub of Object.values(v)) visit(sub);
      } else visit(v);
    }
  };
  for (const s of schemas.values()) visit(s);
  return [...names].sort();
}

function generated(perBuilder: number): Rec[] {
  const out: Rec[] = [];
  const rng = new Rng(0x5eed);
  const t = tenantIdentity('3447df87-0eb7-4c1e-b2ac-cd23f31c6de5', 'contoso.onmicrosoft.com', 17);
  for (const table of [AAD_MIX, EXCHANGE_MIX, SHAREPOINT_MIX, GENERAL_MIX, DLP_MIX]) {
    for (const build of table.values) {
      for (let i = 0; i < perBuilder; i++) {
        const ms = Date.UTC(2025, 2, 1) + rng.int(7 * 86_400_000);
        const id = `${(rng.next() >>> 0).toString(16).padStart(8, '0')}-1234-4abc-8def-${String(i).padStart(12, '0')}`;
        const ctx: RecordContext = { rng, t, id, ms, time: recordTime(ms) };
        out.push(JSON.parse(JSON.stringify(build(ctx))) as Rec);
      }
    }
  }
  return out;
}

function realRecords(): Rec[] {
  // The worktree layout puts the shared samples one level further up than a checkout's.
  const candidates = [REAL_RECORDS, path.join(packageRoot, '..', '..', 'shared', 'samples', 'real-records.ndjson')];
  const file = candidates.find((f) => fs.existsSync(f));
  if (!file) return [];
  const raw = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Rec);
  // As they are (the anonymised ids make most invalid) and with the anonymisation undone, as in
  // real-records.test.ts (most then valid).
  const guid = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;
  const fake = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  const fixed = raw.map((r, i) => {
    const out = { ...r };
    if (typeof out.Id === 'string' && !guid.test(out.Id)) out.Id = fake(i);
    if (typeof out.OrganizationId === 'string' && !guid.test(out.OrganizationId)) out.OrganizationId = fake(999_999);
    if (out.RecordType === 64 && out.Workload === 'user1') out.Workload = 'AirInvestigation';
    return out;
  });
  return [...raw, ...fixed];
}

const PALETTE: unknown[] = [
  undefined, null, 0, -0, 1, 2, 17, 28, 1.5, -1, NaN, Infinity, -Infinity, 2 ** 31, 1e300, true, false,
  '', 'x', '0', '-12', '12a', 'ZAP', 'zap', 'Inline', 'online', 'ONPREM', 'mailMessage', 'MAILMESSAGE', 'İnline', 'MoveToJmf',
  '<null>', '1.2.3.4', '1.2.3.4:80', '01.2.3.4', '256.1.1.1', '::1', '::ffff:1.2.3.4', '2001:db8::g', '[2001:db8::1]:443', '[::1', '1.2.3.4:123456',
  '2025-02-29T00:00:00', '2024-02-29T00:00:00Z', '2025-03-11T08:14:52.1234567', '2025-03-11T08:14:52.12345678', '2025-03-11T08:14:52+02:00',
  '60EAF0AA-EDC3-4F8D-8275-BC82D9500E59', '60eaf0aa-edc3-4f8d-8275-bc82d9500e5g', '60eaf0aa-edc3-4f8d-8275-bc82d9500e5İ', '{"a":1}',
  [], {}, [1], ['a'], [null], [{}], [{ Type: 'nope' }], { a: 1 }, { Type: 'File', Name: 3 }, [[]],
];

/** A copy of rec with one value somewhere replaced (or deleted, or a schema-known key added). */
function mutate(rec: Rec, rng: Rng, names: readonly string[]): Rec {
  const copy = structuredClone(rec);
  let node: Rec | unknown[] = copy;
  // Walk a few levels down through objects and arrays.
  for (let depth = rng.int(4); depth > 0; depth--) {
    const keys: Array<string | number> = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
    const inner = keys.filter((k) => {
      const v = (node as Record<string | number, unknown>)[k];
      return v !== null && typeof v === 'object';
    });
    if (inner.length === 0) break;
    node = (node as Record<string | number, unknown>)[inner[rng.int(inner.length)]] as Rec | unknown[];
  }
  const value = PALETTE[rng.int(PALETTE.length)];
  const target = node as Record<string | number, unknown>;
  let key: string | number;
  if (Array.isArray(node)) key = node.length === 0 ? 0 : rng.int(node.length);
  else {
    const keys = Object.keys(node);
    key = keys.length === 0 || rng.float() < 0.4 ? names[rng.int(names.length)] : keys[rng.int(keys.length)];
  }
  if (value === undefined && !Array.isArray(node)) delete target[key];
  else target[key] = structuredClone(value);
  return copy;
}

describe('schema/validator pre-check (fast path) against ajv alone', function () {
  this.timeout(120_000);
  const schemas = loadSchemas();
  const names = schemaPropertyNames(schemas);
  const deps: FastDeps = { schemas, formats: RECORD_FORMATS, docEnum: () => () => true };

  after(() => {
    // Coverage of the comparison: all three outcomes occur in numbers.
    assert.ok(fullValid > 1000 && fullInvalid > 1000 && fullWarned > 50, JSON.stringify({ compared, fullValid, fullInvalid, fullWarned }));
  });

  it('handles every shipped schema (none falls back to ajv alone)', () => {
    for (const mode of MODES) assert.deepEqual(precheckedTypes(mode), { common: true, specific: [...specificRecordTypes()] });
    for (const id of schemas.keys()) assert.equal(typeof compileFast(id, deps), 'function', id);
  });

  it('refuses keywords it does not implement, rather than skipping them', () => {
    const refuse = (schema: object): void => {
      const id = SCHEMA_BASE_URI + 'test.schema.json';
      assert.throws(() => compileFast(id, { ...deps, schemas: new Map([[id, { $id: id, ...schema }]]) }), FastUnsupported, JSON.stringify(schema));
    };
    refuse({ enum: [1] });
    refuse({ properties: { a: { minLength: 1 } } });
    refuse({ if: { type: 'object' }, then: {}, else: { type: 'string' } });
    refuse({ if: { required: ['a'] }, then: { type: 'string' } });
    refuse({ if: { type: 'integer' }, then: { type: 'string' } });
    refuse({ items: { format: 'email' } });
    refuse({ $ref: 'missing.schema.json' });
    refuse({ $ref: '#anchor' });
    refuse({ unevaluatedProperties: false });
    refuse({ additionalProperties: false });
  });

  it('answers "no" past MAX_DEPTH nested $refs (ajv decides there, stack overflow included)', () => {
    // Where ajv's own stack runs out moves with V8's optimisation state, so the cap is checked here
    // directly: without it, the pre-check could say "valid" where ajv alone throws RangeError.
    const id = SCHEMA_BASE_URI + 'defs/air-entity.schema.json';
    const check = compileFast(id, deps);
    const nest = (n: number): Rec => {
      let e: Rec = { Type: 'File', Name: 'a.txt' };
      for (let i = 0; i < n; i++) e = { Type: 'File', Files: [e] };
      return e;
    };
    assert.equal(check(nest(MAX_DEPTH)), true);
    assert.equal(check(nest(MAX_DEPTH + 1)), false);
    assert.equal(check(nest(3000)), false);
  });

  it('the emulator records of every builder, valid and mutated', () => {
    const rng = new Rng(42);
    for (const r of generated(25)) {
      same(r, JSON.stringify(r).slice(0, 200));
      for (let k = 0; k < 6; k++) {
        const m = mutate(r, rng, names);
        same(m, JSON.stringify(m).slice(0, 300));
      }
    }
  });

  it('the fixture blob and the documentation examples, valid and mutated', () => {
    const rng = new Rng(7);
    const recs = [...sampleBlob(), ...docExamples().map((d) => d.record)];
    for (const r of recs) {
      same(r, JSON.stringify(r).slice(0, 200));
      for (let k = 0; k < 40; k++) same(mutate(r, rng, names), 'mutated fixture');
    }
  });

  it('the real (anonymised) records of ../shared/samples, as they are and mutated', function () {
    const recs = realRecords();
    if (recs.length === 0) this.skip();
    const rng = new Rng(99);
    for (const r of recs) {
      same(r, JSON.stringify(r).slice(0, 200));
      for (let k = 0; k < 40; k++) same(mutate(r, rng, names), 'mutated real record');
    }
  });

  it('a type whose records keep warning stops using the pre-check for a while, with the same results', () => {
    const warned = (): Rec => ({ ...(generated(1).find((r) => r.RecordType === 28) ?? {}), DetectionType: 'Sideways' });
    const clean = generated(1).find((r) => r.RecordType === 28) ?? {};
    // Drain whatever earlier tests left.
    while (precheckSkipping(28) > 0) both.default.adaptive.validate(clean);
    for (let i = 0; i < 10; i++) same(clean, 'clean');
    assert.equal(precheckSkipping(28), 0);
    const w = warned();
    for (let i = 0; i < 40 && precheckSkipping(28) === 0; i++) same(w, 'warned');
    assert.ok(precheckSkipping(28) > 0, 'skipping after a run of warned records');
    const skipping41 = precheckSkipping(41);
    same(w, 'warned, skipping');
    same(clean, 'clean, skipping');
    assert.equal(precheckSkipping(41), skipping41, 'other types are not affected');
    for (let i = 0; i < SKIP_RECORDS && precheckSkipping(28) > 0; i++) both.default.adaptive.validate(clean);
    assert.equal(precheckSkipping(28), 0);
    same(clean, 'clean, pre-checked again');
  });

  describe('hostile input', () => {
    const base = (): Rec => structuredClone(generated(1).find((r) => r.RecordType === 64) ?? {});
    const valid28 = (): Rec => structuredClone(generated(1).find((r) => r.RecordType === 28) ?? {});

    it('non-objects', () => {
      for (const v of [null, undefined, 0, 'x', true, [], [valid28()], () => 1, Symbol('s')]) same(v, String(typeof v));
    });

    it('throwing getters, at the top and nested, on required and optional members', () => {
      for (const [where, key] of [
        ['top', 'Id'],
        ['top', 'ClientIP'],
        ['top', 'RecordType'],
        ['top', 'Unlisted'],
      ] as const) {
        const r = valid28();
        Object.defineProperty(r, key, { enumerable: true, get: () => { throw new Error('boom'); } });
        same(r, `${where} ${key}`);
      }
      const r = valid28();
      const auth = (r.AuthDetails as Rec[])[0];
      Object.defineProperty(auth, 'Value', { enumerable: true, get: () => { throw new TypeError('boom'); } });
      same(r, 'nested getter');
      const p = new Proxy(valid28(), { get: () => { throw new Error('proxy'); } });
      same(p, 'proxy');
    });

    it('prototypes: inherited, null-prototype, non-enumerable and polluted members', () => {
      same(Object.create(valid28()), 'all inherited');
      same(Object.assign(Object.create(null), valid28()), 'null prototype');
      const ne = valid28();
      Object.defineProperty(ne, 'SenderIp', { enumerable: false, value: 'not an ip' });
      same(ne, 'non-enumerable bad member');
      const inherited = Object.create({ ClientIP: 'not an ip' }) as Rec;
      Object.assign(inherited, valid28());
      same(inherited, 'bad inherited member');
      const proto = Object.prototype as Record<string, unknown>;
      try {
        proto.PhishConfidenceLevel = 'Extreme';
        same(valid28(), 'polluted Object.prototype (out-of-enum)');
        proto.PhishConfidenceLevel = 7;
        same(valid28(), 'polluted Object.prototype (wrong type)');
      } finally {
        delete proto.PhishConfidenceLevel;
      }
    });

    it('AIR entities nested past the pre-check depth, and far deeper', () => {
      // ajv itself runs out of stack somewhere between 1000 and 2000 levels (where exactly depends on
      // what V8 has optimised: the depths here keep clear of that); beyond, the pre-check must not say "valid".
      for (const depth of [1, MAX_DEPTH - 2, MAX_DEPTH, MAX_DEPTH + 3, 200, 500, 5000, 20_000]) {
        const r = base();
        let entity: Rec = { Type: 'File', Name: 'a.txt' };
        const innermost = entity;
        for (let i = 0; i < depth; i++) entity = { Type: 'File', Files: [entity] };
        r.Actions = [{ Entities: [entity] }];
        same(r, `depth ${depth}`);
        innermost.Name = 3;
        same(r, `depth ${depth}, innermost invalid`);
      }
    });

    it('long strings and many members', () => {
      const r = valid28();
      r.Subject = 'x'.repeat(10_000_000);
      r.SenderIp = '1'.repeat(1_000_000);
      same(r, 'long strings');
      const many = valid28();
      many.Recipients = Array.from({ length: 100_000 }, (_, i) => (i === 99_999 ? 5 : `u${i}@example.com`));
      same(many, 'long array, last bad');
      const warn = valid28();
      warn.AuthDetails = Array.from({ length: 200 }, () => ({ Name: 'SPF', Value: 'Pass' }));
      warn.DetectionType = 'Sideways';
      same(warn, 'out-of-enum among many');
    });
  });
});
