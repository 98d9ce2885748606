/**
 * The Fluentd plugin's inline parameters come from the bridge's config schema: the checked-in
 * descriptor must be exactly what the generator makes of today's schema, and it must cover every key.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { configSchema } from '../../src/config/load';
import { STDIO_CONFIG_KEYS } from '../../src/sinks/stdio';
import { OUT_FILE, PATH_KEYS, generate, render, snake, type SectionDesc } from '../support/plugin-params';

type S = { properties?: Record<string, S>; items?: S; $ref?: string; type?: string };
const defs = configSchema.$defs as Record<string, S>;
const deref = (s: S): S => (s.$ref ? defs[s.$ref.replace('#/$defs/', '')] : s);

/** Dotted bridge keys of every leaf (a secret reference counts as a leaf). */
function leaves(s: S, prefix: string, out: string[]): string[] {
  for (const [k, v0] of Object.entries(deref(s).properties ?? {})) {
    const v = deref(v0);
    const key = prefix ? `${prefix}.${k}` : k;
    if (v0.$ref === '#/$defs/secretRef') out.push(key);
    else if (v.type === 'object' && v.properties) leaves(v, key, out);
    else if (v.type === 'array' && deref(v.items ?? {}).type === 'object') leaves(deref(v.items!), `${key}[]`, out);
    else out.push(key);
  }
  return out;
}

function covered(sections: SectionDesc[], params: Array<{ key: string }>, prefix: string, out: Set<string>): Set<string> {
  for (const p of params) out.add(prefix ? `${prefix}.${p.key}` : p.key);
  for (const s of sections) covered(s.sections, s.params, `${prefix ? prefix + '.' : ''}${s.key}${s.multi ? '[]' : ''}`, out);
  return out;
}

describe('Fluentd plugin parameters (generated from the config schema)', () => {
  it('the checked-in params.json is what the generator makes of the schema (npm run plugin:params)', () => {
    assert.equal(fs.readFileSync(OUT_FILE, 'utf8'), render(), 'stale: run npm run plugin:params');
  });

  it('covers every key of the schema except tagPrefix (the plugin own) and the sink keys stdio ignores', () => {
    const d = generate();
    const have = covered(d.sections, d.params, '', new Set());
    const want = leaves(configSchema as S, '', []).filter((k) => k !== 'tagPrefix' && (!k.startsWith('sink.') || (STDIO_CONFIG_KEYS as readonly string[]).includes(k.slice(5))));
    assert.deepEqual([...want].filter((k) => !have.has(k)), []);
    assert.deepEqual([...have].filter((k) => !want.includes(k)), []);
  });

  it('a secret reference becomes the value (passed by environment), _env and _file', () => {
    const tenant = generate().sections.find((s) => s.name === 'tenant')!;
    assert.equal(tenant.multi, true);
    const names = tenant.params.filter((p) => p.key === 'clientSecret').map((p) => `${p.name}:${p.type}:${p.ref ?? ''}`);
    assert.deepEqual(names, ['client_secret:secret:', 'client_secret_env:string:env', 'client_secret_file:string:file']);
  });

  it('the path keys exist in the schema and are marked for making absolute', () => {
    const all = leaves(configSchema as S, '', []).map((k) => k.split('.').pop()!);
    for (const k of PATH_KEYS) assert.ok(all.includes(k), k);
    const d = generate();
    assert.equal(d.params.find((p) => p.key === 'stateDir')?.path, true);
  });

  it('snake_case as Fluentd users write it', () => {
    assert.deepEqual(['intervalSeconds', 'maxBlobMB', 'sendX5c', 'clientId', 'noProxy'].map(snake), ['interval_seconds', 'max_blob_mb', 'send_x5c', 'client_id', 'no_proxy']);
  });
});
