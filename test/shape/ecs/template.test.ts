/**
 * deploy/elasticsearch/o365-bridge-template.json: generated from the shaper's field tables, a field count
 * our documents cannot exceed (dynamic: false), every field we write mapped with a type its values fit,
 * and every field Elastic's prebuilt o365 rules read (KQL, EQL and ES|QL) mapped.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isIP } from 'node:net';
import { toEcsDocument, DATA_STREAM } from '../../../src/shape/ecs';
import { parseCreationTime } from '../../../src/shape/event';
import { allFields, buildTemplate, countFields, fieldType, PIPELINE_FILE, TEMPLATE_FILE, templateText } from './template';
import { builderRecords, emulatorRecords, leafPaths, sampleRecords } from './corpus';

const TYPES = new Map(allFields());
const STOP = new Set([...TYPES.entries()].filter(([, t]) => t === 'flattened' || t === 'nested').map(([k]) => k));

function docsOf(records: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  return records.map((r) => {
    const t = { sec: 0, nsec: 0 };
    if (!parseCreationTime(r.CreationTime, t)) t.sec = 1_700_000_000;
    return toEcsDocument(r, t, { tenant: 't', content_type: 'Audit.General', content_id: 'c', record_type_name: null, warnings: [{ path: '/x', keyword: 'x-docEnum', message: 'm' }] });
  });
}

/** `lenient`: numbers, dates and IPs that do not parse are dropped by the index (ignore_malformed), not refused. */
function fits(type: string, v: unknown, lenient = false): boolean {
  if (lenient && ['long', 'date', 'ip'].includes(type)) return typeof v !== 'object';
  switch (type) {
    case 'keyword':
    case 'wildcard':
      return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
    case 'text':
    case 'match_only_text':
      return typeof v === 'string';
    case 'long':
      return typeof v === 'number' && Number.isInteger(v);
    case 'ip':
      return typeof v === 'string' && isIP(v) !== 0;
    case 'date':
      return typeof v === 'string' && !Number.isNaN(Date.parse(v));
    case 'boolean':
      return typeof v === 'boolean';
    case 'constant_keyword':
      return v === DATA_STREAM.dataset;
    default:
      return true;
  }
}

describe('ecs: the Elasticsearch index template', () => {
  const tpl = JSON.parse(fs.readFileSync(TEMPLATE_FILE, 'utf8')) as ReturnType<typeof buildTemplate> & {
    template: { settings: Record<string, number>; mappings: { dynamic: boolean; properties: Record<string, never> } };
    _meta: { mapped_fields: number };
  };

  it('is generated from src/shape/ecs/fields.ts (run `node dist/test/shape/ecs/template.js --write`)', () => {
    assert.equal(fs.readFileSync(TEMPLATE_FILE, 'utf8'), templateText());
  });

  it('is a composable data stream template for a name the prebuilt rules read (logs-o365.audit-*)', () => {
    assert.deepEqual(tpl.index_patterns, ['logs-o365.audit-bridge']);
    assert.ok(/^logs-o365\.audit-/.test((tpl.index_patterns as string[])[0]));
    assert.deepEqual(tpl.data_stream, {});
    assert.ok((tpl.priority as number) > 200, 'above the integration template (200), for our namespace only');
  });

  it('cannot grow past its field limit: dynamic false, and the mapped count is under total_fields.limit', () => {
    assert.equal(tpl.template.mappings.dynamic, false);
    const count = countFields(tpl.template.mappings.properties);
    assert.equal(count, tpl._meta.mapped_fields);
    assert.ok(count <= tpl.template.settings['index.mapping.total_fields.limit'], `${count} fields`);
    assert.ok(tpl.template.settings['index.mapping.total_fields.limit'] <= 1000, 'stays within Elasticsearch default');
  });

  const corpus = [...emulatorRecords(), ...builderRecords(), ...sampleRecords()];
  const odd: unknown[] = [null, 0, 'x', true, [], {}, ['a'], [{}], { a: { b: 1 } }, [1, { c: 2 }]];
  const hostile = corpus.slice(0, 80).flatMap((r) => Object.keys(r).flatMap((k) => odd.map((v) => ({ ...r, [k]: v }))));

  for (const [what, records, lenient] of [
    [`(${corpus.length} records)`, corpus, false],
    [`even with odd values in any field (${hostile.length} records; malformed numbers and dates are the index's to drop)`, hostile, true],
  ] as const) it(`maps every field outside o365.audit our documents carry, with a type their values fit ${what}`, () => {
    const problems = new Set<string>();
    for (const doc of docsOf(records as Array<Record<string, unknown>>)) {
      for (const [p, vals] of leafPaths(doc, (x) => STOP.has(x))) {
        const t = TYPES.get(p);
        if (t === undefined) {
          // Allowed only below o365.audit (kept in _source, not indexed) — and never inside a mapped leaf.
          if (!p.startsWith('o365.audit.') && !p.startsWith('o365.unindexed.')) problems.add(`${p}: not mapped`);
          const parts = p.split('.');
          for (let i = 1; i < parts.length; i++) {
            const pre = parts.slice(0, i).join('.');
            const pt = TYPES.get(pre);
            if (pt !== undefined && pt !== 'flattened' && pt !== 'nested') problems.add(`${p}: an object where ${pre} is mapped as ${pt}`);
          }
          continue;
        }
        for (const v of vals) if (!fits(t, v, lenient)) problems.add(`${p} (${t}): ${JSON.stringify(v).slice(0, 80)}`);
      }
    }
    assert.deepEqual([...problems].sort(), []);
  });

  it('maps every field the 49 prebuilt rules read (KQL, EQL, ES|QL), keys inside lists as their own fields', () => {
    const rules = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', '..', 'test', 'shape', 'ecs', 'fixtures', 'o365-rules.json'), 'utf8')) as { rules: Array<{ query: string }> }).rules;
    const roots = new Set(['o365', 'event', 'user', 'source', 'data_stream', 'file', 'related', 'user_agent', 'session', 'token', 'application', 'rule', 'destination', 'email', 'url', 'host', 'organization', 'client']);
    const missing = new Set<string>();
    for (const r of rules) {
      const q = r.query.replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\//g, '').replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/`/g, '');
      for (const m of q.matchAll(/(?<![\w.])[a-z_][a-z0-9_]*(?:\.[A-Za-z0-9_]+)+/g)) {
        const at = m.index ?? 0;
        // `logs-o365.audit-*` is an index, `dataset:o365.audit` a KQL value
        if (!roots.has(m[0].split('.')[0]) || q[at + m[0].length] === '-' || /:\s*$/.test(q.slice(Math.max(0, at - 3), at))) continue;
        const ft = fieldType(m[0]);
        // ES|QL and EQL cannot read keys inside a flattened field: those need their own mapping.
        if (!ft || (ft.type === 'flattened' && ft.flattenedRoot === undefined)) missing.add(m[0]);
      }
    }
    assert.deepEqual([...missing].sort(), []);
  });

  it('comes with the ingest pipeline for geo, AS and user agent (valid JSON, the processors the rules need)', () => {
    const p = JSON.parse(fs.readFileSync(PIPELINE_FILE, 'utf8')) as { processors: Array<Record<string, { target_field?: string }>> };
    const targets = p.processors.map((x) => Object.values(x)[0].target_field ?? Object.keys(x)[0]);
    assert.deepEqual(targets, ['source.geo', 'source.as', 'source.as.number', 'source.as.organization.name', 'user_agent']);
  });
});
