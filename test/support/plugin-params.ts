/**
 * Generates the Fluentd plugin's parameter descriptor (fluent-plugin/lib/fluent/plugin/o365_bridge/params.json)
 * from the bridge's own config schema, so the plugin's inline sections map one to one onto the bridge's
 * keys and never drift: `<poll> interval_seconds 300 </poll>` is `poll.intervalSeconds: 300`.
 *   node dist/test/support/plugin-params.js           prints it
 *   node dist/test/support/plugin-params.js --write   writes it (npm run plugin:params)
 * test/plugin/params.test.ts fails when the checked-in file differs from what this produces.
 *
 * Mapping: an object becomes a section, an array of objects a multi section (tenants → <tenant>), a
 * scalar a parameter named in snake_case. A secret reference ({ env } | { file }) becomes three
 * parameters: NAME (the value itself: the plugin hands it to the child in its environment, never on
 * a command line nor in a file), NAME_env and NAME_file. `tagPrefix` is the plugin's own tag_prefix;
 * `sink` offers only the keys the stdio sink reads (the plugin always runs the bridge with stdio).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { configSchema } from '../../src/config/load';
import { STDIO_CONFIG_KEYS } from '../../src/sinks/stdio';

type Schema = Record<string, unknown> & {
  type?: string;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  items?: Schema;
  required?: string[];
  $ref?: string;
  description?: string;
  default?: unknown;
};

export interface ParamDesc {
  name: string;
  key: string;
  type: 'string' | 'integer' | 'bool' | 'enum' | 'array' | 'secret';
  list?: string[];
  required?: boolean;
  /** A path the plugin makes absolute (against Fluentd's working directory) before handing it on. */
  path?: boolean;
  /** For a secret reference: this parameter names an environment variable or a file instead of holding the value. */
  ref?: 'env' | 'file';
  /** Marked secret in the schema (e.g. a proxy URL with credentials): masked in Fluentd's dumps. */
  secret?: boolean;
  desc: string;
}

export interface SectionDesc {
  name: string;
  key: string;
  multi: boolean;
  required: boolean;
  params: ParamDesc[];
  sections: SectionDesc[];
}

/** Keys whose values are paths, resolved by the bridge against the config file's directory (see the schema's top description). */
export const PATH_KEYS = ['stateDir', 'caFile', 'keyFile', 'certFile'];
const SKIP_TOP = new Set(['tagPrefix']);

export const OUT_FILE = path.resolve(__dirname, '../../../fluent-plugin/lib/fluent/plugin/o365_bridge/params.json');

export function snake(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

function deref(s: Schema): Schema {
  if (!s.$ref) return s;
  const name = s.$ref.replace('#/$defs/', '');
  const target = (configSchema.$defs as Record<string, Schema>)[name];
  if (!target) throw new Error(`unresolved ${s.$ref}`);
  // The property's own description wins over the definition's.
  return { ...deref(target), ...(s.description ? { description: s.description } : {}), $secretRef: name === 'secretRef' };
}

function describe(s: Schema): string {
  let d = String(s.description ?? '').replace(/\s+/g, ' ').trim();
  if (s.default !== undefined && !(Array.isArray(s.default) && s.default.length === 0) && !(typeof s.default === 'object' && !Array.isArray(s.default))) {
    d += ` Default (the bridge's): ${Array.isArray(s.default) ? s.default.join(',') : String(s.default)}.`;
  }
  return d;
}

function param(key: string, raw: Schema, required: boolean): ParamDesc[] {
  const s = deref(raw);
  const name = snake(key);
  const base = { name, key, desc: describe(s), ...(required ? { required: true } : {}) };
  if (s.$secretRef) {
    return [
      { ...base, type: 'secret', desc: `${base.desc} The value itself: passed to the bridge in its environment, never on a command line or in a file.` },
      { name: `${name}_env`, key, type: 'string', ref: 'env', desc: `Or: the name of the environment variable holding ${key}.` },
      { name: `${name}_file`, key, type: 'string', ref: 'file', path: true, desc: `Or: a file holding ${key}.` },
    ];
  }
  const extra: Partial<ParamDesc> = {};
  if (PATH_KEYS.includes(key)) extra.path = true;
  if (s['x-secret'] === true) extra.secret = true;
  if (s.enum) return [{ ...base, ...extra, type: 'enum', list: s.enum.map(String) }];
  if (s.type === 'string') return [{ ...base, ...extra, type: 'string' }];
  if (s.type === 'integer') return [{ ...base, ...extra, type: 'integer' }];
  if (s.type === 'boolean') return [{ ...base, ...extra, type: 'bool' }];
  if (s.type === 'array') {
    const items = deref(s.items ?? {});
    if (items.type === 'object') throw new Error(`${key}: arrays of objects are sections`);
    return [{ ...base, ...extra, type: 'array', ...(items.enum ? { list: items.enum.map(String) } : {}) }];
  }
  throw new Error(`${key}: no Fluentd mapping for schema type ${String(s.type)}`);
}

function section(key: string, raw: Schema, multi: boolean, required: boolean, only?: readonly string[]): SectionDesc {
  const s = deref(raw);
  const out: SectionDesc = { name: snake(multi && key.endsWith('s') ? key.slice(0, -1) : key), key, multi, required, params: [], sections: [] };
  const req = new Set(s.required ?? []);
  for (const [k, v] of Object.entries(s.properties ?? {})) {
    if (only && !only.includes(k)) continue;
    const d = deref(v);
    if (d.type === 'object' && d.properties && !d.$secretRef) out.sections.push(section(k, d, false, req.has(k)));
    else out.params.push(...param(k, v, req.has(k)));
  }
  return out;
}

export function generate(): { generatedFrom: string; note: string; params: ParamDesc[]; sections: SectionDesc[] } {
  const root = configSchema as Schema;
  const params: ParamDesc[] = [];
  const sections: SectionDesc[] = [];
  for (const [k, v] of Object.entries(root.properties ?? {})) {
    if (SKIP_TOP.has(k)) continue;
    const d = deref(v);
    if (k === 'sink') sections.push(section(k, d, false, false, STDIO_CONFIG_KEYS));
    else if (d.type === 'array' && deref(d.items ?? {}).type === 'object') sections.push(section(k, deref(d.items!), true, (root.required ?? []).includes(k)));
    else if (d.type === 'object' && d.properties) sections.push(section(k, d, false, false));
    else params.push(...param(k, v, false));
  }
  return {
    generatedFrom: 'src/config/schema.json',
    note: 'GENERATED by test/support/plugin-params.ts (npm run plugin:params); do not edit by hand.',
    params,
    sections,
  };
}

export function render(): string {
  return JSON.stringify(generate(), null, 2) + '\n';
}

if (require.main === module) {
  if (process.argv.includes('--write')) {
    fs.mkdirSync(path.dirname(OUT_FILE), { recursive: true });
    fs.writeFileSync(OUT_FILE, render());
    process.stdout.write(`${path.relative(process.cwd(), OUT_FILE)} regenerated\n`);
  } else process.stdout.write(render());
}
