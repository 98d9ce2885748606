/**
 * Builds deploy/elasticsearch/o365-bridge-template.json from the field tables in src/shape/ecs/fields.ts
 * (the one list of what we emit), so the template and the shaper cannot drift: template.test.ts fails
 * when the file is stale; `node dist/test/shape/ecs/template.js --write` rewrites it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../../../src/paths';
import { DATA_STREAM, ECS_FIELDS, O365_AUDIT_FIELDS, O365_OTHER_FIELDS, RULE_ONLY_FIELDS } from '../../../src/shape/ecs';

export const TEMPLATE_FILE = path.join(packageRoot, 'deploy', 'elasticsearch', 'o365-bridge-template.json');
export const PIPELINE_FILE = path.join(packageRoot, 'deploy', 'elasticsearch', 'o365-bridge-pipeline.json');
/** The data stream the Fluentd example writes to: matched by the prebuilt rules' `logs-o365.audit-*`. */
export const DATA_STREAM_NAME = `${DATA_STREAM.type}-${DATA_STREAM.dataset}-${DATA_STREAM.namespace}`;

type Mapping = Record<string, unknown> & { properties?: Record<string, Mapping> };

function leaf(type: string, flat: string): Mapping {
  switch (type) {
    case 'keyword':
      return { type, ignore_above: 1024 };
    case 'flattened':
      return { type, ignore_above: 8191, depth_limit: 20 };
    case 'constant_keyword': {
      const k = flat.slice('data_stream.'.length) as keyof typeof DATA_STREAM;
      return { type, value: DATA_STREAM[k] };
    }
    case 'date':
      return { type, format: 'strict_date_optional_time' };
    default:
      return { type };
  }
}

function insert(root: Record<string, Mapping>, flat: string, type: string): void {
  const parts = flat.split('.');
  let props = root;
  for (let i = 0; i < parts.length - 1; i++) {
    const p = parts[i];
    let node = props[p];
    if (!node) node = props[p] = { properties: {} };
    if (node.type === 'nested' && !node.properties) node.properties = {};
    if (!node.properties) throw new Error(`${flat}: ${parts.slice(0, i + 1).join('.')} is a ${String(node.type)} field, not an object`);
    props = node.properties;
  }
  const last = parts[parts.length - 1];
  if (type === 'nested') {
    props[last] = { type: 'nested', ...(props[last]?.properties ? { properties: props[last].properties } : { properties: {} }) };
    return;
  }
  if (props[last]) throw new Error(`${flat} mapped twice`);
  props[last] = leaf(type, flat);
}

/** Every field the template maps, flattened to `path → type` (objects not included). */
export function allFields(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(ECS_FIELDS)) out.push([k, v]);
  for (const [k, v] of Object.entries(O365_AUDIT_FIELDS)) out.push(['o365.audit.' + k, v]);
  for (const [k, v] of Object.entries(O365_OTHER_FIELDS)) out.push(['o365.' + k, v]);
  for (const [k, v] of Object.entries(RULE_ONLY_FIELDS)) out.push([k, v]);
  return out;
}

/** Counts fields as Elasticsearch's total_fields.limit does: every leaf and every object mapper. */
export function countFields(props: Record<string, Mapping>): number {
  let n = 0;
  for (const m of Object.values(props)) {
    n++;
    if (m.properties) n += countFields(m.properties);
  }
  return n;
}

export function buildTemplate(): Record<string, unknown> {
  const properties: Record<string, Mapping> = {};
  // nested before its children
  const fields = allFields().sort((a, b) => (a[1] === 'nested' ? -1 : 0) - (b[1] === 'nested' ? -1 : 0));
  for (const [k, v] of fields) insert(properties, k, v);
  const count = countFields(properties);
  // Room above what we map for a user's own additions; documents cannot add fields (dynamic: false).
  const limit = Math.ceil((count + 100) / 100) * 100;
  return {
    index_patterns: [DATA_STREAM_NAME],
    data_stream: {},
    priority: 250,
    composed_of: [],
    _meta: {
      description: 'o365-fluent-bridge format: ecs (docs/ecs.md). Generated from src/shape/ecs/fields.ts; do not edit by hand.',
      mapped_fields: count,
    },
    template: {
      settings: {
        'index.mapping.total_fields.limit': limit,
        'index.mapping.ignore_malformed': true,
      },
      mappings: {
        dynamic: false,
        date_detection: false,
        properties,
      },
    },
  };
}

/** The template's type for a query field: a mapped field, a key inside a flattened field, or undefined. */
export function fieldType(p: string): { type: string; flattenedRoot?: string } | undefined {
  const types = new Map(allFields());
  const t = types.get(p);
  if (t === 'flattened') return { type: t, flattenedRoot: p };
  if (t) return { type: t };
  for (const [f, ft] of types) if (ft === 'flattened' && p.startsWith(f + '.')) return { type: 'flattened' };
  return undefined;
}

export function templateText(): string {
  return JSON.stringify(buildTemplate(), null, 2) + '\n';
}

if (require.main === module) {
  if (process.argv.includes('--write')) {
    fs.mkdirSync(path.dirname(TEMPLATE_FILE), { recursive: true });
    fs.writeFileSync(TEMPLATE_FILE, templateText());
    process.stdout.write(`${path.relative(packageRoot, TEMPLATE_FILE)} written\n`);
  } else process.stdout.write(templateText());
}
