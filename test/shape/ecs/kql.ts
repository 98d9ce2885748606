/**
 * A small KQL (Kibana Query Language) evaluator for the shapes Elastic's o365 rules use:
 * `field:value`, `field:"quoted"`, `field:(a or b and not c)`, `field:*`, wildcards `*`/`?` in values,
 * `and`/`or`/`not` with parentheses, and range comparisons `field <= 1023`. A value is matched the way
 * Elasticsearch matches it for the field's mapping type in our template (types from src/shape/ecs/fields.ts):
 * keyword-like (keyword, wildcard, constant_keyword, flattened keys) exact and case-sensitive, numbers
 * numerically, booleans as true/false, arrays by any element, a `flattened` root by any leaf value; a
 * field the template does not map matches nothing (as in Elasticsearch). Nested queries (`f:{…}`) are
 * refused with a reason.
 */
export type FieldType = (path: string) => { type: string; flattenedRoot?: string } | undefined;

type Node =
  | { k: 'and' | 'or'; a: Node; b: Node }
  | { k: 'not'; a: Node }
  | { k: 'match'; field: string; v: VNode }
  | { k: 'range'; field: string; op: string; value: string };
type VNode = { k: 'and' | 'or'; a: VNode; b: VNode } | { k: 'not'; a: VNode } | { k: 'val'; value: string; quoted: boolean };

export class KqlUnsupported extends Error {}

interface Tok {
  t: 'word' | 'str' | '(' | ')' | ':' | 'op' | '{' | '}';
  v: string;
}

function tokenize(q: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === ':' || c === '{' || c === '}') {
      out.push({ t: c, v: c });
      i++;
    } else if (c === '<' || c === '>') {
      const op = q[i + 1] === '=' ? c + '=' : c;
      out.push({ t: 'op', v: op });
      i += op.length;
    } else if (c === '"') {
      let s = '';
      i++;
      while (i < q.length && q[i] !== '"') {
        if (q[i] === '\\' && (q[i + 1] === '"' || q[i + 1] === '\\')) {
          s += q[i + 1];
          i += 2;
        } else s += q[i++];
      }
      if (q[i] !== '"') throw new KqlUnsupported('unterminated string');
      i++;
      out.push({ t: 'str', v: s });
    } else {
      let s = '';
      while (i < q.length && !/[\s():<>{}"]/.test(q[i])) {
        if (q[i] === '\\' && i + 1 < q.length) {
          s += q[i + 1];
          i += 2;
        } else s += q[i++];
      }
      out.push({ t: 'word', v: s });
    }
  }
  return out;
}

export function parseKql(q: string): Node {
  const toks = tokenize(q);
  let p = 0;
  const peek = () => toks[p];
  const isKw = (w: string) => peek()?.t === 'word' && peek().v.toLowerCase() === w;
  const expect = (t: Tok['t']) => {
    if (peek()?.t !== t) throw new KqlUnsupported(`expected ${t} at token ${p} (${peek()?.v ?? 'end'})`);
    return toks[p++];
  };
  const or = (): Node => {
    let a = and();
    while (isKw('or')) {
      p++;
      a = { k: 'or', a, b: and() };
    }
    return a;
  };
  const and = (): Node => {
    let a = not();
    while (isKw('and')) {
      p++;
      a = { k: 'and', a, b: not() };
    }
    return a;
  };
  const not = (): Node => {
    if (isKw('not')) {
      p++;
      return { k: 'not', a: not() };
    }
    return primary();
  };
  const primary = (): Node => {
    if (peek()?.t === '(') {
      p++;
      const e = or();
      expect(')');
      return e;
    }
    const f = expect('word').v;
    if (peek()?.t === 'op') {
      const op = toks[p++].v;
      const v = toks[p++];
      if (!v || (v.t !== 'word' && v.t !== 'str')) throw new KqlUnsupported('range without a value');
      return { k: 'range', field: f, op, value: v.v };
    }
    expect(':');
    if (peek()?.t === '{') throw new KqlUnsupported(`nested query on ${f}`);
    return { k: 'match', field: f, v: vvalue() };
  };
  const vvalue = (): VNode => {
    if (peek()?.t === '(') {
      p++;
      const e = vor();
      expect(')');
      return e;
    }
    const t = toks[p++];
    if (!t || (t.t !== 'word' && t.t !== 'str')) throw new KqlUnsupported(`expected a value at token ${p - 1}`);
    return { k: 'val', value: t.v, quoted: t.t === 'str' };
  };
  const vor = (): VNode => {
    let a = vand();
    while (isKw('or')) {
      p++;
      a = { k: 'or', a, b: vand() };
    }
    return a;
  };
  const vand = (): VNode => {
    let a = vnot();
    while (isKw('and')) {
      p++;
      a = { k: 'and', a, b: vnot() };
    }
    return a;
  };
  const vnot = (): VNode => {
    if (isKw('not')) {
      p++;
      return { k: 'not', a: vnot() };
    }
    return vvalue();
  };
  const e = or();
  if (p !== toks.length) throw new KqlUnsupported(`unexpected ${toks[p].v} at token ${p}`);
  return e;
}

/** Every leaf value at `path` (arrays of objects traversed; dotted keys inside objects honoured). */
export function valuesAt(doc: unknown, path: string): unknown[] {
  const out: unknown[] = [];
  const walk = (v: unknown, rest: string): void => {
    if (Array.isArray(v)) {
      for (const x of v) walk(x, rest);
      return;
    }
    if (rest === '') {
      if (v !== null && v !== undefined) out.push(v);
      return;
    }
    if (typeof v !== 'object' || v === null) return;
    const o = v as Record<string, unknown>;
    // Longest key first: `a.b` may be one key (ModifiedProperties names) or two levels.
    const parts = rest.split('.');
    for (let n = parts.length; n >= 1; n--) {
      const key = parts.slice(0, n).join('.');
      if (key in o) walk(o[key], parts.slice(n).join('.'));
    }
  };
  walk(doc, path);
  return out;
}

function leaves(v: unknown, out: unknown[] = []): unknown[] {
  if (Array.isArray(v)) for (const x of v) leaves(x, out);
  else if (typeof v === 'object' && v !== null) for (const x of Object.values(v)) leaves(x, out);
  else if (v !== null && v !== undefined) out.push(v);
  return out;
}

function wildcardRe(p: string): RegExp {
  return new RegExp('^' + p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[\\s\\S]*').replace(/\?/g, '[\\s\\S]') + '$');
}

function matchOne(type: string, v: unknown, pat: { value: string; quoted: boolean }): boolean {
  const wild = !pat.quoted && /[*?]/.test(pat.value);
  switch (type) {
    case 'long':
    case 'integer':
    case 'float':
    case 'double': {
      if (wild) return false;
      return Number(v) === Number(pat.value);
    }
    case 'boolean':
      return String(v).toLowerCase() === pat.value.toLowerCase();
    case 'text':
    case 'match_only_text': {
      const s = String(v).toLowerCase();
      return wild ? wildcardRe(pat.value.toLowerCase()).test(s) : s.split(/\W+/).includes(pat.value.toLowerCase()) || s.includes(pat.value.toLowerCase());
    }
    default: {
      const s = typeof v === 'string' ? v : String(v);
      return wild ? wildcardRe(pat.value).test(s) : s === pat.value;
    }
  }
}

export interface EvalContext {
  fieldType: FieldType;
  /** Fields the query used that the template does not map (they match nothing). */
  unmapped: Set<string>;
}

function evalV(v: VNode, type: string, vals: unknown[]): boolean {
  switch (v.k) {
    case 'or':
      return evalV(v.a, type, vals) || evalV(v.b, type, vals);
    case 'and':
      return evalV(v.a, type, vals) && evalV(v.b, type, vals);
    case 'not':
      return !evalV(v.a, type, vals);
    case 'val':
      if (!v.quoted && v.value === '*') return vals.length > 0;
      return vals.some((x) => matchOne(type, x, v));
  }
}

export function evaluate(node: Node, doc: unknown, ctx: EvalContext): boolean {
  switch (node.k) {
    case 'or':
      return evaluate(node.a, doc, ctx) || evaluate(node.b, doc, ctx);
    case 'and':
      return evaluate(node.a, doc, ctx) && evaluate(node.b, doc, ctx);
    case 'not':
      return !evaluate(node.a, doc, ctx);
    case 'match':
    case 'range': {
      const ft = ctx.fieldType(node.field);
      if (!ft) {
        ctx.unmapped.add(node.field);
        return false;
      }
      const vals = ft.type === 'flattened' && ft.flattenedRoot === node.field ? leaves(valuesAt(doc, node.field)) : valuesAt(doc, node.field);
      const type = ft.type === 'flattened' ? 'keyword' : ft.type;
      if (node.k === 'match') return evalV(node.v, type, vals);
      const numeric = ['long', 'integer', 'float', 'double'].includes(type);
      return vals.some((x) => {
        const a: number | string = numeric ? Number(x) : String(x);
        const b: number | string = numeric ? Number(node.value) : node.value;
        switch (node.op) {
          case '<':
            return a < b;
          case '<=':
            return a <= b;
          case '>':
            return a > b;
          default:
            return a >= b;
        }
      });
    }
  }
}
