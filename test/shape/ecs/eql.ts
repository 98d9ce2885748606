/**
 * A small EQL evaluator for single-event queries of the shape Elastic's o365 rules use:
 * `<category> where <expr>` with `==`, `!=`, `:` (case-insensitive equality), `in (…)`, `like~ (…)`,
 * `endsWith~(a, b)`, `?field` (optional field), `null`, `and`/`or`/`not`, parentheses, comments.
 * Sequences are refused (`EqlUnsupported`). Multi-valued fields match when any value does. A field that
 * is not mapped as its own field (a key inside a flattened field included) is an error, as EQL makes it,
 * unless written `?field`.
 */
import { valuesAt, type FieldType } from './kql';

export class EqlUnsupported extends Error {}

type Expr =
  | { k: 'and' | 'or'; a: Expr; b: Expr }
  | { k: 'not'; a: Expr }
  | { k: 'cmp'; op: '==' | '!=' | ':'; l: Operand; r: Operand }
  | { k: 'in'; l: Operand; list: Operand[]; ci: boolean }
  | { k: 'like'; l: Operand; list: string[]; ci: boolean }
  | { k: 'fn'; name: string; args: Operand[] };
type Operand = { k: 'field'; path: string; optional: boolean } | { k: 'lit'; v: string | number | boolean | null };

interface Tok {
  t: 'id' | 'str' | 'num' | 'op' | '(' | ')' | ',';
  v: string;
}

function tokenize(q: string): Tok[] {
  const s = q.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, ' ');
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (/\s/.test(c)) i++;
    else if (c === '(' || c === ')' || c === ',') {
      out.push({ t: c, v: c });
      i++;
    } else if (c === '"') {
      let v = '';
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length) {
          const n = s[i + 1];
          v += n === 'n' ? '\n' : n === 't' ? '\t' : n;
          i += 2;
        } else v += s[i++];
      }
      i++;
      out.push({ t: 'str', v });
    } else if (/[=!:<>]/.test(c)) {
      const two = s.slice(i, i + 2);
      const op = two === '==' || two === '!=' || two === '<=' || two === '>=' ? two : c;
      out.push({ t: 'op', v: op });
      i += op.length;
    } else if (/[0-9]/.test(c)) {
      let v = '';
      while (i < s.length && /[0-9.]/.test(s[i])) v += s[i++];
      out.push({ t: 'num', v });
    } else if (/[A-Za-z_?@]/.test(c)) {
      let v = '';
      while (i < s.length && /[A-Za-z0-9_.?@~]/.test(s[i])) v += s[i++];
      out.push({ t: 'id', v });
    } else throw new EqlUnsupported(`unexpected ${c}`);
  }
  return out;
}

export interface EqlQuery {
  category: string;
  where: Expr;
}

export function parseEql(q: string): EqlQuery {
  if (/^\s*(sequence|sample)\b/i.test(q)) throw new EqlUnsupported('sequence query');
  const toks = tokenize(q);
  let p = 0;
  const peek = () => toks[p];
  const isId = (w: string) => peek()?.t === 'id' && peek().v.toLowerCase() === w;
  const expect = (t: Tok['t'], v?: string) => {
    const x = toks[p];
    if (!x || x.t !== t || (v !== undefined && x.v.toLowerCase() !== v)) throw new EqlUnsupported(`expected ${v ?? t} at ${p} (${x?.v ?? 'end'})`);
    p++;
    return x;
  };
  const category = expect('id').v;
  expect('id', 'where');
  const operand = (): Operand => {
    const x = toks[p++];
    if (!x) throw new EqlUnsupported('operand expected');
    if (x.t === 'str') return { k: 'lit', v: x.v };
    if (x.t === 'num') return { k: 'lit', v: Number(x.v) };
    if (x.t === 'id') {
      const w = x.v.toLowerCase();
      if (w === 'null') return { k: 'lit', v: null };
      if (w === 'true' || w === 'false') return { k: 'lit', v: w === 'true' };
      return x.v.startsWith('?') ? { k: 'field', path: x.v.slice(1), optional: true } : { k: 'field', path: x.v, optional: false };
    }
    throw new EqlUnsupported(`operand expected at ${p - 1}`);
  };
  const list = (): Operand[] => {
    expect('(');
    const out: Operand[] = [];
    while (peek()?.t !== ')') {
      out.push(operand());
      if (peek()?.t === ',') p++;
    }
    p++;
    return out;
  };
  const or = (): Expr => {
    let a = and();
    while (isId('or')) {
      p++;
      a = { k: 'or', a, b: and() };
    }
    return a;
  };
  const and = (): Expr => {
    let a = not();
    while (isId('and')) {
      p++;
      a = { k: 'and', a, b: not() };
    }
    return a;
  };
  const not = (): Expr => {
    if (isId('not')) {
      p++;
      return { k: 'not', a: not() };
    }
    return primary();
  };
  const primary = (): Expr => {
    if (peek()?.t === '(') {
      p++;
      const e = or();
      expect(')');
      return e;
    }
    if (peek()?.t === 'id' && toks[p + 1]?.t === '(' && !['in', 'in~', 'like', 'like~'].includes(peek().v.toLowerCase())) {
      const name = toks[p++].v.toLowerCase();
      return { k: 'fn', name, args: list() };
    }
    const l = operand();
    const op = toks[p];
    if (op?.t === 'op' && (op.v === '==' || op.v === '!=' || op.v === ':')) {
      p++;
      // `field : ("a", "b")` is an in~ list
      if (op.v === ':' && peek()?.t === '(') return { k: 'in', l, list: list(), ci: true };
      return { k: 'cmp', op: op.v, l, r: operand() };
    }
    if (op?.t === 'id') {
      const w = op.v.toLowerCase();
      if (w === 'in' || w === 'in~') {
        p++;
        return { k: 'in', l, list: list(), ci: w === 'in~' };
      }
      if (w === 'like' || w === 'like~') {
        p++;
        const pats = peek()?.t === '(' ? list() : [operand()];
        return { k: 'like', l, list: pats.map((x) => (x.k === 'lit' ? String(x.v) : '')), ci: w === 'like~' };
      }
    }
    throw new EqlUnsupported(`comparison expected at ${p} (${op?.v ?? 'end'})`);
  };
  const where = or();
  if (p !== toks.length) throw new EqlUnsupported(`unexpected ${toks[p].v}`);
  return { category, where };
}

export interface EqlContext {
  fieldType: FieldType;
  /** Fields EQL would refuse (not mapped as their own field, not optional). */
  errors: Set<string>;
}

function valuesOf(o: Operand, doc: unknown, ctx: EqlContext): unknown[] {
  if (o.k === 'lit') return [o.v];
  const ft = ctx.fieldType(o.path);
  if (!ft || (ft.type === 'flattened' && ft.flattenedRoot === undefined)) {
    if (!o.optional) ctx.errors.add(o.path);
    return [null];
  }
  const v = valuesAt(doc, o.path);
  return v.length === 0 ? [null] : v;
}

function wild(p: string, ci: boolean): RegExp {
  return new RegExp('^' + p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[\\s\\S]*').replace(/\?/g, '[\\s\\S]') + '$', ci ? 'i' : '');
}

function evalExpr(e: Expr, doc: unknown, ctx: EqlContext): boolean {
  switch (e.k) {
    case 'and':
      return evalExpr(e.a, doc, ctx) && evalExpr(e.b, doc, ctx);
    case 'or':
      return evalExpr(e.a, doc, ctx) || evalExpr(e.b, doc, ctx);
    case 'not':
      return !evalExpr(e.a, doc, ctx);
    case 'cmp': {
      const ls = valuesOf(e.l, doc, ctx);
      const rs = valuesOf(e.r, doc, ctx);
      const eq = (a: unknown, b: unknown) =>
        a === null || b === null ? a === b : e.op === ':' ? String(a).toLowerCase() === String(b).toLowerCase() : String(a) === String(b);
      const any = ls.some((a) => rs.some((b) => eq(a, b)));
      return e.op === '!=' ? !any : any;
    }
    case 'in': {
      const ls = valuesOf(e.l, doc, ctx);
      const opts = e.list.flatMap((x) => valuesOf(x, doc, ctx)).map((x) => (e.ci ? String(x).toLowerCase() : String(x)));
      return ls.some((a) => a !== null && opts.includes(e.ci ? String(a).toLowerCase() : String(a)));
    }
    case 'like': {
      const ls = valuesOf(e.l, doc, ctx);
      return ls.some((a) => a !== null && e.list.some((p) => wild(p, e.ci).test(String(a))));
    }
    case 'fn': {
      if (e.name !== 'endswith~' && e.name !== 'endswith') throw new EqlUnsupported(`function ${e.name}`);
      const [a, b] = e.args.map((x) => valuesOf(x, doc, ctx));
      const ci = e.name.endsWith('~');
      return a.some((x) => b.some((y) => x !== null && y !== null && (ci ? String(x).toLowerCase().endsWith(String(y).toLowerCase()) : String(x).endsWith(String(y)))));
    }
  }
}

export function evaluateEql(q: EqlQuery, doc: unknown, ctx: EqlContext): boolean {
  const cats = valuesAt(doc, 'event.category');
  if (q.category !== 'any' && !cats.includes(q.category)) return false;
  return evalExpr(q.where, doc, ctx);
}
