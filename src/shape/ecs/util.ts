/** Small helpers of the ECS shaper (no allocation beyond what the result needs). */
import { parseCreationTime } from '../event';
import type { EventTimeParts } from '../../contracts';

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** Elastic's `convert type: string` (numbers and booleans as Java prints them; strings unchanged). */
export function toStr(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return undefined;
}

/** `sub(doc, 'user')`: the object at doc.user, created if missing. */
export function sub(o: Obj, k: string): Obj {
  const v = o[k];
  if (isObj(v)) return v;
  const n: Obj = {};
  o[k] = n;
  return n;
}

/** Appends without duplicates (Elastic's `append` with allow_duplicates: false). */
export function addUnique(list: unknown[], v: string): void {
  if (!list.includes(v)) list.push(v);
}

const PAD = (n: number, w: number) => String(n).padStart(w, '0');

/** An ISO 8601 date-time as Elasticsearch's date processor prints it (UTC, milliseconds, `Z`); undefined if unparsable. */
export function isoMillis(v: unknown): string | undefined {
  const t: EventTimeParts = { sec: 0, nsec: 0 };
  if (!parseCreationTime(v, t)) return undefined;
  return fromParts(t);
}

export function fromParts(t: EventTimeParts): string {
  const d = new Date(t.sec * 1000);
  return (
    `${PAD(d.getUTCFullYear(), 4)}-${PAD(d.getUTCMonth() + 1, 2)}-${PAD(d.getUTCDate(), 2)}T` +
    `${PAD(d.getUTCHours(), 2)}:${PAD(d.getUTCMinutes(), 2)}:${PAD(d.getUTCSeconds(), 2)}.${PAD(Math.floor(t.nsec / 1e6), 3)}Z`
  );
}

/** Splits `a@b` into name and domain as Elastic does (exactly one `@`); undefined otherwise. */
export function splitMail(v: string): [string, string] | undefined {
  const i = v.indexOf('@');
  if (i < 0 || v.indexOf('@', i + 1) >= 0) return undefined;
  return [v.slice(0, i), v.slice(i + 1)];
}

/** A value an ECS keyword/number field takes: a string, number or boolean, or an array of them. */
export function scalarish(v: unknown): boolean {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return true;
  return Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean');
}
