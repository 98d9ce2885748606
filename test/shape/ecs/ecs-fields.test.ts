/**
 * Every ECS field name and type we emit, checked against ECS 9.4.0's own definitions
 * (../shared/reference/ecs: fields-9.4.0.csv and ecs_flat-9.4.0.yml); everything else only under o365.*.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { ECS_FIELDS, ECS_VERSION, toEcsDocument } from '../../../src/shape/ecs';
import { packageRoot } from '../../../src/paths';
import { builderRecords, emulatorRecords, leafPaths, sampleRecords } from './corpus';

const REF = path.join(packageRoot, '..', 'shared', 'reference', 'ecs');
const CSV = path.join(REF, 'fields-9.4.0.csv');
const FLAT = path.join(REF, 'ecs_flat-9.4.0.yml');

function csvTypes(): Map<string, string> {
  const out = new Map<string, string>();
  const lines = fs.readFileSync(CSV, 'utf8').split('\n').slice(1);
  for (const l of lines) {
    // ECS_Version,Indexed,Field_Set,Field,Type,…: the first five columns are never quoted.
    const c = l.split(',');
    if (c.length >= 5) out.set(c[3], c[4]);
  }
  return out;
}

describe('ecs: field names and types against ECS 9.4.0', function () {
  before(function () {
    if (!fs.existsSync(CSV) || !fs.existsSync(FLAT)) {
      process.stdout.write(`      skipped: ${REF} not found (the ECS reference lives in ../shared, outside a fresh clone)\n`);
      this.skip();
    }
  });

  it('our ECS version is the one we check against', () => {
    assert.equal(ECS_VERSION, '9.4.0');
  });

  it('every ECS field we emit exists in fields-9.4.0.csv with the same type', () => {
    const ecs = csvTypes();
    const wrong = Object.entries(ECS_FIELDS)
      .filter(([k, t]) => ecs.get(k) !== t)
      .map(([k, t]) => `${k}: ours ${t}, ECS ${ecs.get(k) ?? 'no such field'}`);
    assert.deepEqual(wrong, []);
  });

  it('and in ecs_flat-9.4.0.yml with the same type (the YAML and the CSV agree for our fields)', () => {
    const flat = YAML.parse(fs.readFileSync(FLAT, 'utf8')) as Record<string, { type: string; flat_name: string }>;
    const wrong = Object.entries(ECS_FIELDS)
      .filter(([k, t]) => flat[k]?.type !== t || flat[k]?.flat_name !== k)
      .map(([k, t]) => `${k}: ours ${t}, ECS ${flat[k]?.type ?? 'no such field'}`);
    assert.deepEqual(wrong, []);
  });

  it('event.kind, event.category, event.type and event.outcome hold only ECS allowed values', () => {
    const flat = YAML.parse(fs.readFileSync(FLAT, 'utf8')) as Record<string, { allowed_values?: Array<{ name: string }> }>;
    const allowed = (k: string) => new Set((flat[k].allowed_values ?? []).map((v) => v.name));
    const sets = { kind: allowed('event.kind'), category: allowed('event.category'), type: allowed('event.type'), outcome: allowed('event.outcome') };
    const bad = new Set<string>();
    for (const r of [...emulatorRecords(2), ...builderRecords(), ...sampleRecords()]) {
      const ev = toEcsDocument(r, { sec: 1_700_000_000, nsec: 0 }).event as Record<string, unknown>;
      for (const [k, set] of Object.entries(sets)) {
        for (const v of ([] as unknown[]).concat(ev[k] ?? [])) if (!set.has(String(v))) bad.add(`event.${k}: ${String(v)}`);
      }
    }
    assert.deepEqual([...bad], []);
  });

  it('every field our documents carry is an ECS field of that table, or under o365.*', () => {
    const stop = (p: string) => p === 'o365';
    const bad = new Set<string>();
    for (const r of [...emulatorRecords(2), ...builderRecords(), ...sampleRecords()]) {
      const doc = toEcsDocument(r, { sec: 1_700_000_000, nsec: 0 });
      for (const p of leafPaths(doc, stop).keys()) {
        if (p === 'o365' || p.startsWith('o365.')) continue;
        if (!(p in ECS_FIELDS)) bad.add(p);
      }
    }
    assert.deepEqual([...bad].sort(), []);
  });
});
