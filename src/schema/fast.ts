/**
 * A yes/no pre-check of a record against schemas/, compiled to straight-line JavaScript. ajv's code
 * reports every error and so, per checked value, builds instance paths and argument objects and
 * tracks 2020-12 evaluation state even when the record is valid; this check does none of that.
 *
 * Contract (what makes it safe): `check(record) === true` only if ajv would find the record valid
 * with no x-docEnum warning. On false, or if the check throws, the caller runs ajv, whose result is
 * the answer; so this check may be stricter than ajv, never laxer. Accordingly:
 *   - `integer` is Number.isInteger (ajv also takes ±Infinity), `number` requires a finite number;
 *   - an x-docEnum value outside its set is "no" (ajv then reports the warning or strict error);
 *   - `if` takes only a `type` subschema (computed exactly: `if` must not be stricter or laxer);
 *   - recursion through $ref stops at MAX_DEPTH ("no": ajv decides, stack overflow included);
 *   - any keyword not listed here makes compileFast throw, so no unknown keyword is skipped silently.
 */
import type { DocEnumSchema } from './doc-enum';

/** Annotation-only keywords (ajv 2020 validates none of them). */
const ANNOTATIONS = new Set(['$schema', '$id', 'title', 'description', '$comment', '$defs', 'contentMediaType', 'contentEncoding', 'examples', 'default', 'deprecated', 'readOnly', 'writeOnly']);
const VALIDATING = new Set(['type', 'required', 'properties', 'items', 'allOf', '$ref', 'if', 'then', 'pattern', 'format', 'x-docEnum']);

/** $ref nesting the check follows before answering "no" (AIR entities nest a few levels at most). */
export const MAX_DEPTH = 32;

export type FastCheck = (data: unknown) => boolean;

export interface FastDeps {
  /** Every loaded schema by its $id. */
  schemas: ReadonlyMap<string, object>;
  /** The string formats, the same functions ajv was given. */
  formats: Readonly<Record<string, (s: string) => boolean>>;
  /** x-docEnum membership, the same test the ajv keyword runs. */
  docEnum: (schema: DocEnumSchema) => (data: unknown) => boolean;
}

export class FastUnsupported extends Error {}

type Schema = Record<string, unknown> | boolean;

const OBJ = (v: string): string => `(${v} !== null && typeof ${v} === "object" && !Array.isArray(${v}))`;

function typeTest(t: string, v: string): string {
  switch (t) {
    case 'object':
      return OBJ(v);
    case 'array':
      return `Array.isArray(${v})`;
    case 'string':
      return `typeof ${v} === "string"`;
    case 'boolean':
      return `typeof ${v} === "boolean"`;
    case 'null':
      return `${v} === null`;
    case 'integer':
      return `Number.isInteger(${v})`;
    case 'number':
      return `(typeof ${v} === "number" && Number.isFinite(${v}))`;
    default:
      throw new FastUnsupported(`type ${t}`);
  }
}

function types(s: unknown): string[] {
  if (typeof s === 'string') return [s];
  if (Array.isArray(s) && s.length > 0 && s.every((x) => typeof x === 'string')) return s as string[];
  throw new FastUnsupported('type form');
}

/** Compiles the schema with the given $id; throws FastUnsupported when it uses anything not above. */
export function compileFast(rootId: string, deps: FastDeps): FastCheck {
  const consts: unknown[] = [];
  const constIndex = new Map<unknown, number>();
  const ref = (x: unknown): string => {
    let i = constIndex.get(x);
    if (i === undefined) {
      i = consts.length;
      consts.push(x);
      constIndex.set(x, i);
    }
    return `k[${i}]`;
  };
  const fnIndex = new Map<object, number>();
  const fns: string[] = [];
  let tmp = 0;

  const resolve = (reference: string, base: string): { schema: Schema; base: string } => {
    const url = new URL(reference, base);
    const pointer = decodeURIComponent(url.hash.slice(1));
    url.hash = '';
    const doc = deps.schemas.get(url.href);
    if (doc === undefined) throw new FastUnsupported(`unresolved $ref ${reference}`);
    let node: unknown = doc;
    if (pointer !== '') {
      if (!pointer.startsWith('/')) throw new FastUnsupported(`anchor $ref ${reference}`);
      for (const raw of pointer.slice(1).split('/')) {
        const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
        node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
        if (node === undefined) throw new FastUnsupported(`unresolved $ref ${reference}`);
      }
    }
    if (typeof node !== 'boolean' && (node === null || typeof node !== 'object' || Array.isArray(node))) throw new FastUnsupported(`$ref ${reference} is no schema`);
    return { schema: node as Schema, base: url.href };
  };

  /** The function (by index) checking a $ref target that recurses; the index map ends the recursion. */
  const fnFor = (schema: Schema, base: string): number => {
    const key = typeof schema === 'object' ? schema : { b: schema };
    let i = fnIndex.get(key);
    if (i !== undefined) return i;
    i = fns.length;
    fnIndex.set(key, i);
    fns.push('');
    fns[i] = `function f${i}(v, d) {\nif (d > ${MAX_DEPTH}) return false;\n${body([{ schema, base }], 'v', new Set())}return true;\n}`;
    return i;
  };

  interface Part {
    schema: Schema;
    base: string;
  }

  /**
   * The schemas that all apply to one value: the given ones, their allOf members and $ref targets,
   * flattened (a conjunction either way), so that each property is read once, not once per schema.
   * A $ref back to a schema being expanded on this path becomes a function call (`calls`).
   */
  const conjuncts = (parts: readonly Part[], onPath: ReadonlySet<object>): { all: Array<{ schema: Record<string, unknown>; base: string }>; calls: number[]; never: boolean } => {
    const all: Array<{ schema: Record<string, unknown>; base: string }> = [];
    const seen = new Set<object>();
    const calls: number[] = [];
    let never = false;
    const add = (schema: Schema, base: string, top: boolean): void => {
      if (schema === true) return;
      if (schema === false) {
        never = true;
        return;
      }
      if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) throw new FastUnsupported('schema form');
      if (seen.has(schema)) return;
      if (!top && typeof schema.$id === 'string') throw new FastUnsupported('embedded $id');
      for (const k of Object.keys(schema)) if (!ANNOTATIONS.has(k) && !VALIDATING.has(k)) throw new FastUnsupported(`keyword ${k}`);
      seen.add(schema);
      all.push({ schema, base });
      if (schema.allOf !== undefined) {
        if (!Array.isArray(schema.allOf) || schema.allOf.length === 0) throw new FastUnsupported('allOf form');
        for (const sub of schema.allOf as Schema[]) add(sub, base, false);
      }
      if (schema.$ref !== undefined) {
        if (typeof schema.$ref !== 'string') throw new FastUnsupported('$ref form');
        const target = resolve(schema.$ref, base);
        if (typeof target.schema === 'object' && onPath.has(target.schema)) calls.push(fnFor(target.schema, target.base));
        else add(target.schema, target.base, true);
      }
    };
    for (const p of parts) add(p.schema, p.base, true);
    return { all, calls, never };
  };

  /** Statements that `return false` when the value in variable v fails any of the schemas. */
  const body = (parts: readonly Part[], v: string, onPath: ReadonlySet<object>): string => {
    const { all, calls, never } = conjuncts(parts, onPath);
    if (never) return 'return false;\n';
    const path = new Set(onPath);
    for (const c of all) path.add(c.schema);
    let out = '';
    for (const { schema } of all) {
      if (schema.type !== undefined) out += `if (!(${types(schema.type).map((t) => typeTest(t, v)).join(' || ')})) return false;\n`;
    }
    for (const f of calls) out += `if (!f${f}(${v}, d + 1)) return false;\n`;
    const required = new Set<string>();
    const props = new Map<string, Part[]>();
    const items: Part[] = [];
    for (const { schema, base } of all) {
      const req = schema.required;
      if (req !== undefined) {
        if (!Array.isArray(req) || !req.every((x) => typeof x === 'string')) throw new FastUnsupported('required form');
        for (const r of req as string[]) required.add(r);
      }
      const ps = schema.properties;
      if (ps !== undefined) {
        if (ps === null || typeof ps !== 'object' || Array.isArray(ps)) throw new FastUnsupported('properties form');
        for (const [name, sub] of Object.entries(ps as Record<string, Schema>)) {
          let list = props.get(name);
          if (!list) props.set(name, (list = []));
          list.push({ schema: sub, base });
        }
      }
      if (schema.items !== undefined) {
        if (Array.isArray(schema.items)) throw new FastUnsupported('items form');
        items.push({ schema: schema.items as Schema, base });
      }
    }
    if (required.size > 0 || props.size > 0) {
      let inner = '';
      // ajv's test for both keywords: `data.X === undefined` (inherited members count; no own-property test).
      for (const name of required) if (!props.has(name)) inner += `if (${v}[${JSON.stringify(name)}] === undefined) return false;\n`;
      for (const [name, list] of props) {
        const p = `p${++tmp}`;
        const sb = body(list, p, path);
        const must = required.has(name);
        if (sb === '' && !must) continue;
        inner += `{ const ${p} = ${v}[${JSON.stringify(name)}];\n`;
        if (must) inner += `if (${p} === undefined) return false;\n${sb}}\n`;
        else inner += `if (${p} !== undefined) {\n${sb}} }\n`;
      }
      if (inner !== '') out += `if (${OBJ(v)}) {\n${inner}}\n`;
    }
    if (items.length > 0) {
      const x = `a${++tmp}`;
      const i = `i${tmp}`;
      const sb = body(items, x, path);
      if (sb !== '') out += `if (Array.isArray(${v})) {\nfor (let ${i} = 0; ${i} < ${v}.length; ${i}++) {\nconst ${x} = ${v}[${i}];\n${sb}}\n}\n`;
    }
    for (const { schema, base } of all) {
      if (schema.if !== undefined) {
        const cond = schema.if;
        // Only an exact test may choose the branch; `type` is one (see the header), other keywords are not.
        if (cond === null || typeof cond !== 'object' || Object.keys(cond).some((k) => k !== 'type')) throw new FastUnsupported('if form');
        const ts = types((cond as Record<string, unknown>).type);
        if (ts.some((t) => t === 'integer' || t === 'number')) throw new FastUnsupported('if type');
        if (schema.then !== undefined) {
          const sb = body([{ schema: schema.then as Schema, base }], v, path);
          if (sb !== '') out += `if (${ts.map((t) => typeTest(t, v)).join(' || ')}) {\n${sb}}\n`;
        }
      } else if (schema.then !== undefined) {
        throw new FastUnsupported('then without if');
      }
      if (schema.pattern !== undefined) {
        if (typeof schema.pattern !== 'string') throw new FastUnsupported('pattern form');
        // ajv's default: unicodeRegExp, so the `u` flag.
        out += `if (typeof ${v} === "string" && !${ref(new RegExp(schema.pattern, 'u'))}.test(${v})) return false;\n`;
      }
      if (schema.format !== undefined) {
        const f = typeof schema.format === 'string' ? deps.formats[schema.format] : undefined;
        if (f === undefined) throw new FastUnsupported(`format ${String(schema.format)}`);
        out += `if (typeof ${v} === "string" && !${ref(f)}(${v})) return false;\n`;
      }
      if (schema['x-docEnum'] !== undefined) out += `if (!${ref(deps.docEnum(schema['x-docEnum'] as DocEnumSchema))}(${v})) return false;\n`;
    }
    return out;
  };

  const root = deps.schemas.get(rootId);
  if (root === undefined) throw new FastUnsupported(`no schema ${rootId}`);
  const entry = fnFor(root as Schema, rootId);
  // The sourceURL names the schema in CPU profiles (as ajv's own code does).
  const source = `"use strict";\n${fns.join('\n')}\nreturn function check(v) { return f${entry}(v, 0); };\n//# sourceURL=precheck:${rootId}`;
  return new Function('k', source)(consts) as FastCheck;
}
