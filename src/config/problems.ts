/**
 * Turns ajv errors into one line per problem: `<file>: <key path>: expected <what>; found <what>`.
 * The schema carries three annotations used here (registered with ajv as no-op keywords):
 *   x-expected  wording of what is expected (GUIDs, URLs, secret references, "exactly one of ...")
 *   x-when      the condition under which an if/then branch requires keys
 *   x-secret    never echo the value found at this node (a secret typed inline, a proxy URL with a password)
 */
import type { ErrorObject } from 'ajv';

type Schema = Record<string, unknown>;

const TYPE_WORDS: Record<string, string> = {
  integer: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
  null: 'null',
};

/** A JSON pointer (`/tenants/1/cloud`) as a key path (`tenants[1].cloud`), using the data to tell lists from mappings. */
export function keyPath(pointer: string, root: unknown, extraKey?: string): string {
  const segs = pointer === '' ? [] : pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extraKey !== undefined) segs.push(extraKey);
  let out = '';
  let node: unknown = root;
  for (const seg of segs) {
    if (Array.isArray(node)) out += `[${seg}]`;
    else out += /^[A-Za-z_$][\w$-]*$/.test(seg) ? (out ? '.' : '') + seg : `[${JSON.stringify(seg)}]`;
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[seg] : undefined;
  }
  return out || '(top level)';
}

/** How a found value is shown: short, quoted strings, never the value of a secret node. */
export function describeValue(v: unknown, secret = false): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (secret) return `${TYPE_WORDS[typeof v] ?? typeof v} (value not shown)`;
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? v.slice(0, 77) + '...' : v);
  return String(v);
}

/** Edit distance counting a swap of two neighbours as one edit (typos like `prot` for `port`). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The allowed key the user most likely meant: a small edit distance (typos), a shared prefix of most of
 * the word (`intervall` → `intervalSeconds`) or containment (`lookback` → `initialLookbackHours`).
 */
export function suggestKey(unknown: string, allowed: string[]): string | undefined {
  const u = unknown.toLowerCase();
  let best: { key: string; score: number } | undefined;
  for (const key of allowed) {
    const k = key.toLowerCase();
    const d = editDistance(u, k);
    let p = 0;
    while (p < u.length && p < k.length && u[p] === k[p]) p++;
    let score = -1;
    if (d <= Math.max(1, Math.min(2, Math.floor(u.length / 3)))) score = 100 - d;
    else if (u.length >= 4 && p >= Math.max(4, Math.ceil(u.length * 0.6))) score = 50 + p;
    else if (u.length >= 4 && (k.includes(u) || u.includes(k))) score = 40;
    if (score >= 0 && (!best || score > best.score)) best = { key, score };
  }
  return best?.key;
}

function isSecret(schema: unknown): boolean {
  return !!schema && typeof schema === 'object' && (schema as Schema)['x-secret'] === true;
}

function expectedWording(schema: unknown): string | undefined {
  const s = schema as Schema | undefined;
  return s && typeof s['x-expected'] === 'string' ? (s['x-expected'] as string) : undefined;
}

/** One message per ajv error that is a real problem (errors inside anyOf/oneOf branches and `if` are dropped). */
export function renderAjvErrors(errors: ErrorObject[], root: unknown, sourceName: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (path: string, text: string) => {
    const line = `${sourceName}: ${path}: ${text}`;
    if (!seen.has(line)) {
      seen.add(line);
      out.push(line);
    }
  };
  for (const e of errors) {
    // Branch errors of a combinator only explain why a branch failed; the combinator's own error says it all.
    if (/\/(anyOf|oneOf)\/\d+\//.test(e.schemaPath) || e.keyword === 'if') continue;
    const ps = e.parentSchema as Schema | undefined;
    const data = e.data;
    const secret = isSecret(ps);
    const here = keyPath(e.instancePath, root);
    const p = e.params as Record<string, unknown>;
    switch (e.keyword) {
      case 'additionalProperties': {
        const key = String(p.additionalProperty);
        const allowed = Object.keys((ps?.properties as Schema | undefined) ?? {});
        const guess = suggestKey(key, allowed);
        add(keyPath(e.instancePath, root, key), `unknown key${guess ? ` (did you mean "${guess}"?)` : allowed.length ? ` (expected one of ${allowed.join(', ')})` : ''}`);
        break;
      }
      case 'required': {
        const why = typeof ps?.['x-when'] === 'string' ? ` (required when ${ps['x-when']})` : ' (required)';
        const propSchema = (ps?.properties as Schema | undefined)?.[String(p.missingProperty)];
        const what = expectedWording(propSchema) ?? 'a value';
        add(keyPath(e.instancePath, root, String(p.missingProperty)), `expected ${what}${why}; found nothing`);
        break;
      }
      case 'dependentRequired':
        add(keyPath(e.instancePath, root, String(p.missingProperty)), `expected a value (required when ${String(p.property)} is set); found nothing`);
        break;
      case 'type': {
        const types = String(p.type).split(',').map((t) => TYPE_WORDS[t] ?? t).join(' or ');
        add(here, `expected ${expectedWording(ps) ?? types}; found ${describeValue(data, secret)}`);
        break;
      }
      case 'enum':
        add(here, `expected one of ${(p.allowedValues as unknown[]).map((v) => String(v)).join(', ')}; found ${describeValue(data, secret)}`);
        break;
      case 'const':
        add(here, `expected ${JSON.stringify(p.allowedValue)}; found ${describeValue(data, secret)}`);
        break;
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum': {
        const word = { minimum: 'at least', maximum: 'at most', exclusiveMinimum: 'more than', exclusiveMaximum: 'less than' }[e.keyword];
        add(here, `expected ${word} ${String(p.limit)}; found ${describeValue(data, secret)}`);
        break;
      }
      case 'minLength':
        add(here, `expected ${Number(p.limit) === 1 ? 'a non-empty string' : `at least ${String(p.limit)} characters`}; found ${describeValue(data, secret)}`);
        break;
      case 'minItems':
        add(here, `expected ${expectedWording(ps) ?? `at least ${String(p.limit)} item(s)`}; found ${Array.isArray(data) ? (data.length === 0 ? 'an empty list' : `${data.length} item(s)`) : describeValue(data, secret)}`);
        break;
      case 'uniqueItems': {
        const arr = Array.isArray(data) ? data : [];
        add(here, `expected no duplicates; found ${describeValue(arr[Number(p.i)], secret)} twice`);
        break;
      }
      case 'anyOf':
      case 'oneOf':
        add(here, `expected ${expectedWording(ps) ?? 'one of the allowed forms'}; found ${e.keyword === 'anyOf' ? 'none' : 'not exactly one'}`);
        break;
      case 'not':
        add(here, `expected ${expectedWording(ps) ?? 'something else'}; found both`);
        break;
      case 'minProperties':
      case 'maxProperties':
        add(here, `expected ${expectedWording(ps) ?? e.message ?? 'a different number of keys'}; found ${data && typeof data === 'object' ? Object.keys(data).join(' and ') || 'an empty mapping' : describeValue(data, secret)}`);
        break;
      case 'pattern':
      case 'format':
        add(here, `expected ${expectedWording(ps) ?? `a value matching ${String(p.pattern ?? p.format)}`}; found ${describeValue(data, secret)}`);
        break;
      case 'false schema':
        add(here, 'not allowed here');
        break;
      default:
        add(here, `${e.message ?? e.keyword}; found ${describeValue(data, secret)}`);
    }
  }
  return out;
}
