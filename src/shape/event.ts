/**
 * Router: a validated record → the event handed to the sink. The record object is passed on as the API
 * gave it (no copy of its fields, no re-serialising); one metadata object is added under `o365_bridge`.
 * The event time is the record's CreationTime read as UTC, parsed by hand (no Date.parse, no regex)
 * because this runs once per record.
 */
import type { EventTimeParts, OutEvent, ValidationIssue, ValidationResult } from '../contracts';
import { TagTable } from './tags';
import { digit, two } from '../schema/formats';
import { toEcsDocument } from './ecs';
import { sharedValue } from './shared';

/** The key under which the bridge adds its metadata to each record. */
export const META_KEY = 'o365_bridge';
const hasOwn = Object.prototype.hasOwnProperty;

/**
 * Notes about a record from whoever read it (numbers a double can't hold, lone surrogates): added to
 * its event's warnings. Keyed by the record object itself, so nothing between reader and router
 * needs to carry them, and nothing is kept once the record is gone.
 */
const readNotes = new WeakMap<object, ValidationIssue[]>();

export function noteRecord(record: object, issues: ValidationIssue[]): void {
  const prev = readNotes.get(record);
  readNotes.set(record, prev ? [...prev, ...issues] : issues);
}

/**
 * Where our metadata goes in `record`: META_KEY, or, when the record has its own key of that name (kept
 * untouched), the first of `o365_bridge_`, `o365_bridge__`, … it does not have.
 */
export function metaKeyFor(record: object): string {
  let key = META_KEY;
  while (hasOwn.call(record, key)) key += '_';
  return key;
}

export interface BridgeMeta {
  /** Tenant id. */
  tenant: string;
  content_type: string;
  content_id: string;
  /** Documented AuditLogRecordType member name; null when the RecordType is missing or unlisted. */
  record_type_name: string | null;
  /** Only when there are any (default mode: e.g. enum values the docs don't list). */
  warnings?: ValidationIssue[];
  /** Only on invalid records (tagged `<prefix>.invalid.…`). */
  errors?: ValidationIssue[];
}

export interface RouteContext {
  tenantId: string;
  contentType: string;
  contentId: string;
}

export interface Router {
  route(record: Record<string, unknown>, result: ValidationResult, ctx: RouteContext): OutEvent;
}

export interface RouterOptions {
  tagPrefix: string;
  /** `ecs`: the event is an ECS document (src/shape/ecs) instead of the record; default `raw`. */
  format?: 'raw' | 'ecs';
  /** Clock for records without a usable CreationTime (ms since epoch); injected in tests. */
  now?: () => number;
}

const MAX_UINT32 = 0xffffffff;
const POW10 = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000];

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/**
 * Parses `YYYY-MM-DDTHH:MM:SS[.fraction][Z|±HH:MM]` into `out`; no zone means UTC (as the API sends it).
 * The fraction keeps up to 9 digits (nanoseconds); more are truncated. Returns false (leaving `out`
 * untouched) for anything else, or a time outside the forward protocol's uint32 seconds.
 */
export function parseCreationTime(s: unknown, out: EventTimeParts): boolean {
  if (typeof s !== 'string' || s.length < 19) return false;
  const y1 = two(s, 0);
  const y2 = two(s, 2);
  const mo = two(s, 5);
  const d = two(s, 8);
  const h = two(s, 11);
  const mi = two(s, 14);
  const se = two(s, 17);
  if (y1 < 0 || y2 < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59) return false;
  const t = s.charCodeAt(10);
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || (t !== 84 && t !== 32) || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return false;
  const y = y1 * 100 + y2;
  if (d > daysInMonth(y, mo)) return false;
  let i = 19;
  let nsec = 0;
  if (i < s.length && s.charCodeAt(i) === 46 /* . */) {
    i++;
    let n = 0;
    let c: number;
    while (i < s.length && (c = digit(s, i)) >= 0) {
      if (n < 9) nsec = nsec * 10 + c;
      n++;
      i++;
    }
    if (n === 0) return false;
    if (n < 9) nsec *= POW10[9 - n];
  }
  let offset = 0;
  if (i < s.length) {
    const z = s.charCodeAt(i);
    if (z === 90 /* Z */ && i + 1 === s.length) {
      // UTC
    } else if ((z === 43 || z === 45) && s.length === i + 6 && s.charCodeAt(i + 3) === 58) {
      const oh = two(s, i + 1);
      const om = two(s, i + 4);
      if (oh < 0 || oh > 23 || om < 0 || om > 59) return false;
      offset = (z === 45 ? -1 : 1) * (oh * 3600 + om * 60);
    } else {
      return false;
    }
  }
  const sec = daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset;
  if (sec < 0 || sec > MAX_UINT32) return false;
  out.sec = sec;
  out.nsec = nsec;
  return true;
}

export function createRouter(opts: RouterOptions): Router {
  const tags = new TagTable(opts.tagPrefix);
  const now = opts.now ?? Date.now;
  // Records arrive blob by blob, all of one content type: remember the last lookup (string identity compare).
  let lastContentType: string | undefined;
  let lastTags = tags.forContentType('Audit.General');
  const ecs = opts.format === 'ecs';
  // The metadata of a valid record without warnings depends only on the blob and the record type: one
  // frozen object per (blob, record type), shared by its records, so the encoder writes its bytes once.
  let sharedTenant = '';
  let sharedContentType = '';
  let sharedContentId = '';
  let sharedDense: Array<BridgeMeta | undefined> = [];
  const sharedOther = new Map<number | null, BridgeMeta>();

  return {
    route(record, result, ctx) {
      if (ctx.contentType !== lastContentType) {
        lastTags = tags.forContentType(ctx.contentType);
        lastContentType = ctx.contentType;
      }
      const rt = result.recordType;
      const notes = readNotes.get(record);
      let meta: BridgeMeta;
      if (result.valid && result.warnings.length === 0 && !notes && !hasOwn.call(record, META_KEY)) {
        if (ctx.contentId !== sharedContentId || ctx.tenantId !== sharedTenant || ctx.contentType !== sharedContentType) {
          sharedDense = [];
          sharedOther.clear();
          sharedTenant = ctx.tenantId;
          sharedContentType = ctx.contentType;
          sharedContentId = ctx.contentId;
        }
        const dense = rt !== null && rt >= 0 && rt <= 1023 && (rt | 0) === rt;
        let m = dense ? sharedDense[rt] : sharedOther.get(rt);
        if (m === undefined) {
          m = sharedValue<BridgeMeta>({ tenant: ctx.tenantId, content_type: ctx.contentType, content_id: ctx.contentId, record_type_name: lastTags.name(rt) });
          if (dense) sharedDense[rt] = m;
          // Other record types (null, unlisted large numbers) are many only in hostile input: bound the map.
          else if (sharedOther.size < 64) sharedOther.set(rt, m);
        }
        meta = m;
      } else {
        meta = { tenant: ctx.tenantId, content_type: ctx.contentType, content_id: ctx.contentId, record_type_name: lastTags.name(rt) };
        if (result.warnings.length > 0 || notes) meta.warnings = notes ? [...result.warnings, ...notes] : result.warnings;
        if (!result.valid) meta.errors = result.errors;
      }
      if (!ecs) {
        let key = META_KEY;
        if (hasOwn.call(record, META_KEY)) {
          // The record's own key stays as the API sent it; ours goes beside it.
          key = metaKeyFor(record);
          meta.warnings = [
            ...(meta.warnings ?? []),
            { path: `/${META_KEY}`, keyword: 'collision', message: `the record has its own "${META_KEY}" key (kept as is); the bridge's metadata is under "${key}"` },
          ];
        }
        record[key] = meta;
      }

      const time: EventTimeParts = { sec: 0, nsec: 0 };
      if (!parseCreationTime(record.CreationTime, time)) {
        // Only invalid records lack a usable CreationTime (the schemas require it); stamp them with now.
        const ms = now();
        time.sec = Math.floor(ms / 1000);
        time.nsec = Math.round((ms - time.sec * 1000) * 1_000_000);
      }
      const out = ecs ? toEcsDocument(record, time, meta) : record;
      return { tag: lastTags.tag(rt, !result.valid), time, record: out };
    },
  };
}
