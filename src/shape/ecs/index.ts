/**
 * `format: ecs`: one audit record → one ECS document as Elastic's o365 integration writes it, deeper
 * for the Defender types (docs/ecs.md). Pure: the record is read, never modified (the document shares
 * the record's unchanged values, it copies none of them). Per record: one pass over the top-level
 * fields, no schema lookup by string, no serialising.
 */
import type { EventTimeParts } from '../../contracts';
import { AUDIT_LOG_RECORD_TYPES } from '../../schema/record-types';
import { mirrorElastic, ELASTIC_CODE_OVERRIDES } from './elastic';
import { deepenDefender } from './defender';
import { DATA_STREAM, O365_AUDIT_FIELDS } from './fields';
import { fromParts, isObj, type Obj } from './util';

export { ECS_FIELDS, O365_AUDIT_FIELDS, O365_OTHER_FIELDS, RULE_ONLY_FIELDS, LIST_KEYS, MAX_LIST_KEYS, DATA_STREAM } from './fields';

/** The ECS version our field names and types are checked against. */
export const ECS_VERSION = '9.4.0';

/**
 * UserIds that name a Microsoft service, not a person: kept in o365.audit.UserId, never in user.* or
 * related.user (Elastic puts them in user.id, so a "top users" view is led by ThreatIntel).
 */
export const PLACEHOLDER_USERS: ReadonlySet<string> = new Set([
  'ThreatIntel', 'AirInvestigation', 'SecurityComplianceAlerts', 'ThreatIntelligence', 'Automated Investigation', 'AutomatedInvestigation',
]);

/** The bridge's metadata, as the raw format's `o365_bridge` (src/shape/event.ts BridgeMeta). */
export interface EcsMeta {
  tenant: string;
  content_type: string;
  content_id: string;
  record_type_name: string | null;
  warnings?: unknown[];
  errors?: unknown[];
}

/** What the template maps at each top-level o365.audit key: a value of another shape would make Elasticsearch refuse the document. */
type Kind = 'scalar' | 'boolean' | 'object' | 'flattened';
const TOP_KIND = new Map<string, Kind>();
for (const [path, type] of Object.entries(O365_AUDIT_FIELDS)) {
  const i = path.indexOf('.');
  if (i > 0) TOP_KIND.set(path.slice(0, i), 'object');
  else TOP_KIND.set(path, type === 'flattened' ? 'flattened' : type === 'boolean' ? 'boolean' : 'scalar');
}

/** Numbers and dates that do not parse are dropped by the index (ignore_malformed); shapes and booleans are not. */
function fits(kind: Kind, v: unknown): boolean {
  if (v === null || v === undefined) return true;
  const items = Array.isArray(v) ? v : [v];
  for (const x of items) {
    if (x === null) continue;
    const isObject = typeof x === 'object' && !Array.isArray(x);
    if (kind === 'boolean' ? typeof x !== 'boolean' && x !== 'true' && x !== 'false' : kind === 'scalar' ? isObject || Array.isArray(x) : !isObject) return false;
  }
  return true;
}

/**
 * A field whose value has another shape than the records normally send (an object where a string is
 * mapped, a string where an object is) moves to o365.unindexed.<field>: kept in _source, never indexed,
 * so Elasticsearch never refuses the whole document for it.
 */
function moveMisfits(audit: Obj): Obj | undefined {
  let out: Obj | undefined;
  for (const k in audit) {
    const kind = TOP_KIND.get(k);
    if (kind === undefined || fits(kind, audit[k])) continue;
    (out ??= {})[k] = audit[k];
    delete audit[k];
  }
  return out;
}

/** Record type names by number, built once: Elastic's spelling where it differs, the documented one otherwise. */
const CODES: Array<string | undefined> = [];
for (const [k, v] of Object.entries(AUDIT_LOG_RECORD_TYPES)) CODES[Number(k)] = v;
for (const [k, v] of Object.entries(ELASTIC_CODE_OVERRIDES)) CODES[Number(k)] = v;

function recordTypeOf(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^[0-9]{1,9}$/.test(v) ? Number(v) : NaN;
  return Number.isInteger(n) && n >= 0 ? n : null;
}

/** The ECS document for one record; `time` is the event time the router computed (CreationTime, else now). */
export function toEcsDocument(record: Record<string, unknown>, time: EventTimeParts, meta?: EcsMeta): Record<string, unknown> {
  const rt = recordTypeOf(record.RecordType);
  const code = rt === null ? undefined : CODES[rt];
  const skipUser = typeof record.UserId === 'string' && PLACEHOLDER_USERS.has(record.UserId);
  const st = mirrorElastic(record, code, skipUser);
  deepenDefender(st, rt, record);

  const { doc, event, audit } = st;
  event.category = st.category;
  event.type = st.type;
  event.dataset = DATA_STREAM.dataset;
  event.module = 'o365';
  const out: Obj = {
    '@timestamp': fromParts(time),
    ecs: { version: ECS_VERSION },
    data_stream: { dataset: DATA_STREAM.dataset },
    event,
    ...doc,
  };
  if (st.relatedIp.length + st.relatedUser.length + st.relatedHash.length > 0) {
    const related: Obj = {};
    if (st.relatedIp.length > 0) related.ip = st.relatedIp;
    if (st.relatedUser.length > 0) related.user = st.relatedUser;
    if (st.relatedHash.length > 0) related.hash = st.relatedHash;
    out.related = related;
  }
  const misfits = moveMisfits(audit);
  const o365: Obj = { audit };
  if (misfits) o365.unindexed = misfits;
  // The name/value lists once more under one flattened field: every key searchable, one mapping entry.
  const lists: Obj = {};
  for (const k of ['Parameters', 'ExtendedProperties', 'ModifiedProperties'] as const) if (isObj(audit[k])) lists[k] = audit[k];
  if (Object.keys(lists).length > 0) o365.flattened = lists;
  if (meta) {
    const bridge: Obj = { tenant: meta.tenant, content_type: meta.content_type, content_id: meta.content_id, record_type_name: meta.record_type_name };
    if (meta.warnings && meta.warnings.length > 0) bridge.warnings = meta.warnings;
    if (meta.errors && meta.errors.length > 0) bridge.errors = meta.errors;
    if (st.truncated.length > 0) bridge.truncated = st.truncated;
    o365.bridge = bridge;
  } else if (st.truncated.length > 0) {
    o365.bridge = { truncated: st.truncated };
  }
  out.o365 = o365;
  return out;
}

/**
 * The record's Id and RecordType as an event of either format carries them — raw: `Id`, `RecordType`;
 * ecs: `event.id`, `o365.audit.RecordType` (a string there, as Elastic has it). For the wiring that
 * identifies delivered events by record (de-dup, the lost list, metrics by record type); for an ECS
 * document also its content type (`o365.bridge.content_type`: the quarantine tag of a reduced event).
 */
export function recordIdentity(record: Record<string, unknown>): { id: string | undefined; recordType: number | null; contentType?: string } {
  let id: unknown = record.Id;
  let rt: unknown = record.RecordType;
  let ct: unknown;
  if (id === undefined && rt === undefined && isObj(record.event) && isObj(record.o365)) {
    id = record.event.id;
    const audit = record.o365.audit;
    rt = isObj(audit) ? audit.RecordType : undefined;
    // The content type the bridge read it from (the raw format keeps it under its own metadata key).
    ct = isObj(record.o365.bridge) ? record.o365.bridge.content_type : undefined;
  }
  return { id: typeof id === 'string' && id.length > 0 && id.length <= 1024 ? id : undefined, recordType: recordTypeOf(rt), ...(typeof ct === 'string' ? { contentType: ct } : {}) };
}
