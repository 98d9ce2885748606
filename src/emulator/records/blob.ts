/** Builds a blob's records from its plan entry: the only place records are made. */
import { Rng, mix, type WeightedTable } from '../rand';
import { recordTime } from '../time';
import type { BlobMeta, Catalog } from '../catalog';
import { AAD_MIX } from './aad';
import { DLP_MIX } from './dlp';
import { EXCHANGE_MIX } from './exchange';
import { GENERAL_MIX } from './general';
import { SHAREPOINT_MIX } from './sharepoint';
import type { AuditRecord, RecordBuilder, RecordContext } from './common';

/** Indexed like EMULATOR_CONTENT_TYPES. */
const MIXES: ReadonlyArray<WeightedTable<RecordBuilder>> = [AAD_MIX, EXCHANGE_MIX, SHAREPOINT_MIX, GENERAL_MIX, DLP_MIX];

export interface BuiltBlob {
  records: AuditRecord[];
  /** Ids of the records deliberately broken. */
  invalidIds: string[];
}

function blobRng(seedHash: number, b: BlobMeta): Rng {
  return new Rng(mix(seedHash ^ 0xb10b, b.tenant.key, b.ct, b.slot, b.index));
}

function buildOne(catalog: Catalog, b: BlobMeta, k: number, rng: Rng): AuditRecord {
  const ms = b.contentCreated - catalog.recordLatencyMs(b, k);
  const ctx: RecordContext = { rng, t: b.tenant, id: catalog.recordId(b, k), ms, time: recordTime(ms) };
  const record = rng.weighted(MIXES[b.ct])(ctx);
  if (catalog.isInvalid(b, k)) breakRecord(record, k);
  return record;
}

/**
 * Breaks a record against any sane schema of the common fields while keeping its Id (the ledger
 * tracks it): a required field goes missing or changes type.
 */
function breakRecord(r: AuditRecord, k: number): void {
  switch (k % 3) {
    case 0:
      delete r.CreationTime;
      break;
    case 1:
      r.RecordType = 'Unknown';
      break;
    default:
      delete r.Operation;
      break;
  }
}

/** The same record with its keys in reverse order (how a re-delivered copy may be serialised). */
function reordered(r: AuditRecord): AuditRecord {
  const out: AuditRecord = {};
  const keys = Object.keys(r);
  for (let i = keys.length - 1; i >= 0; i--) out[keys[i]] = r[keys[i]];
  return out;
}

export function buildBlob(catalog: Catalog, seedHash: number, b: BlobMeta): BuiltBlob {
  const rng = blobRng(seedHash, b);
  const records: AuditRecord[] = new Array(b.baseCount);
  const invalidIds: string[] = [];
  for (let k = 0; k < b.baseCount; k++) {
    records[k] = buildOne(catalog, b, k, rng);
    if (catalog.isInvalid(b, k)) invalidIds.push(records[k].Id as string);
  }
  const prev = b.duplicateRecord ? catalog.previousBlob(b) : undefined;
  if (prev && prev.baseCount > 0) {
    // Record 0 of the previous blob is the first one its stream produces, so it regenerates alone.
    const copy = reordered(buildOne(catalog, prev, 0, blobRng(seedHash, prev)));
    if (catalog.isInvalid(prev, 0)) invalidIds.push(copy.Id as string);
    const at = mix(seedHash, b.slot, b.index) % (records.length + 1);
    records.splice(at, 0, copy);
  }
  return { records, invalidIds };
}

/**
 * Above this many records a blob is serialised from a pool of fully generated prototypes: record k
 * gets its own Id and CreationTime spliced in front of prototype (k mod POOL)'s remaining fields.
 * That keeps bench-scale generation far above the bridge's own throughput; smaller blobs (tests,
 * demo) are generated record by record.
 */
export const FAST_PATH_MIN_RECORDS = 256;
const POOL = 64;

/** The blob's JSON body, exactly as served. */
export function serializeBlob(catalog: Catalog, seedHash: number, b: BlobMeta): { body: Buffer; records: number } {
  if (b.baseCount <= FAST_PATH_MIN_RECORDS) {
    const built = buildBlob(catalog, seedHash, b);
    return { body: Buffer.from(JSON.stringify(built.records)), records: built.records.length };
  }
  // One Buffer written in place: joining thousands of concatenated strings is an order of magnitude slower.
  const rng = blobRng(seedHash, b);
  const n = b.baseCount;
  const whole: Array<Buffer | undefined> = new Array(n);
  const tailOf = new Int16Array(n).fill(-1);
  const tails: Array<Buffer | undefined> = new Array(POOL);
  const tailText: string[] = new Array(POOL);
  const protoIds: string[] = new Array(POOL);
  for (let k = 0; k < POOL; k++) {
    const r = buildOne(catalog, b, k, rng);
    const json = JSON.stringify(r);
    whole[k] = Buffer.from(json);
    const prefix = `{"CreationTime":"${r.CreationTime as string}","Id":"${r.Id as string}"`;
    // Broken prototypes (a field removed or retyped) are not reused.
    tailText[k] = json.startsWith(prefix) ? json.slice(prefix.length) : '';
    protoIds[k] = r.Id as string;
    // A tail that repeats its own Id (AIR's ObjectId) needs the Id replaced per record.
    tails[k] = tailText[k] && !tailText[k].includes(protoIds[k]) ? Buffer.from(tailText[k]) : undefined;
  }
  const ids: string[] = new Array(n);
  let size = 2 + n; // brackets and separators (one spare)
  for (let k = 0; k < n; k++) {
    if (k >= POOL) {
      const j = k % POOL;
      if (tailText[j] === '' || catalog.isInvalid(b, k)) {
        // Rare: generate this one alone, from its own stream.
        whole[k] = Buffer.from(JSON.stringify(buildOne(catalog, b, k, new Rng(mix(seedHash ^ 0x1d1d, b.tenant.key, b.slot, b.index, k)))));
      } else {
        ids[k] = catalog.recordId(b, k);
        const t = tails[j];
        if (t) {
          tailOf[k] = j;
          size += PREFIX_LEN + t.length;
          continue;
        }
        whole[k] = Buffer.from(`{"CreationTime":"${recordTime(b.contentCreated - catalog.recordLatencyMs(b, k))}","Id":"${ids[k]}"` + tailText[j].split(protoIds[j]).join(ids[k]));
      }
    }
    size += (whole[k] as Buffer).length;
  }
  const prev = b.duplicateRecord ? catalog.previousBlob(b) : undefined;
  const dup = prev && prev.baseCount > 0 ? Buffer.from(JSON.stringify(reordered(buildOne(catalog, prev, 0, blobRng(seedHash, prev))))) : undefined;
  if (dup) size += dup.length + 1;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  out[at++] = 0x5b; // [
  for (let k = 0; k < n; k++) {
    if (k > 0) out[at++] = 0x2c; // ,
    const j = tailOf[k];
    if (j >= 0) {
      at += out.write(`{"CreationTime":"${recordTime(b.contentCreated - catalog.recordLatencyMs(b, k))}","Id":"${ids[k]}"`, at, 'latin1');
      at += (tails[j] as Buffer).copy(out, at);
    } else {
      at += (whole[k] as Buffer).copy(out, at);
    }
  }
  if (dup) {
    out[at++] = 0x2c;
    at += dup.copy(out, at);
  }
  out[at++] = 0x5d; // ]
  return { body: out.subarray(0, at), records: n + (dup ? 1 : 0) };
}

/** `{"CreationTime":"YYYY-MM-DDTHH:MM:SS","Id":"<36-char GUID>"` */
const PREFIX_LEN = 81;

/** Record Ids of a blob (with validity) without building the records: what the ledger needs. */
export function blobRecordIds(catalog: Catalog, b: BlobMeta, onId: (id: string, invalid: boolean) => void): void {
  for (let k = 0; k < b.baseCount; k++) onId(catalog.recordId(b, k), catalog.isInvalid(b, k));
  const prev = b.duplicateRecord ? catalog.previousBlob(b) : undefined;
  if (prev && prev.baseCount > 0) onId(catalog.recordId(prev, 0), catalog.isInvalid(prev, 0));
}
