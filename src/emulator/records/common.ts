/** What every record builder gets, and the common-schema header in the key order the service uses. */
import type { Rng } from '../rand';
import { publicIpv4, type Person, type TenantIdentity } from './identity';

export interface RecordContext {
  rng: Rng;
  t: TenantIdentity;
  /** The record's `Id` (decided by the catalog, not by the builder, so the ledger can compute it alone). */
  id: string;
  /** CreationTime in ms and in wire form. */
  ms: number;
  time: string;
}

export type AuditRecord = Record<string, unknown>;
export type RecordBuilder = (c: RecordContext) => AuditRecord;

/**
 * The common-schema fields in the order real records carry them (CreationTime, Id, Operation,
 * OrganizationId, RecordType, ResultStatus, UserKey, UserType, Version, Workload); callers append
 * ClientIP / ObjectId / UserId and the workload's own fields.
 */
export function head(
  c: RecordContext,
  operation: string,
  recordType: number,
  resultStatus: string | undefined,
  userKey: string,
  userType: number,
  workload: string,
): AuditRecord {
  const r: AuditRecord = {
    CreationTime: c.time,
    Id: c.id,
    Operation: operation,
    OrganizationId: c.t.tenantId,
    RecordType: recordType,
  };
  if (resultStatus !== undefined) r.ResultStatus = resultStatus;
  r.UserKey = userKey;
  r.UserType = userType;
  r.Version = 1;
  r.Workload = workload;
  return r;
}

export function person(c: RecordContext): Person {
  return c.rng.pick(c.t.users);
}

export function admin(c: RecordContext): Person {
  return c.rng.pick(c.t.admins);
}

/** A client address: mostly the tenant's IPv4 pool, some IPv6, some unknown addresses. */
export function clientIp(c: RecordContext): string {
  const r = c.rng.float();
  if (r < 0.75) return c.rng.pick(c.t.ipv4);
  if (r < 0.9) return c.rng.pick(c.t.ipv6);
  return publicIpv4(c.rng);
}

/** A time `minutesBefore` (random up to) the record's CreationTime, in ms. */
export function before(c: RecordContext, maxMinutes: number): number {
  return c.ms - Math.floor(c.rng.float() * maxMinutes * 60_000) - 1000;
}

export function sha256Hex(c: RecordContext, upper: boolean): string {
  return c.rng.hex(64, upper);
}

/** Base64 of 32 random bytes (how type-47 FileData.SHA256 arrives). */
export function sha256Base64(c: RecordContext): string {
  const b = Buffer.allocUnsafe(32);
  for (let i = 0; i < 32; i += 4) b.writeUInt32LE(c.rng.next(), i);
  return b.toString('base64');
}

export function appAccessContext(c: RecordContext): AuditRecord {
  return {
    AADSessionId: c.rng.guid(),
    ClientAppId: c.rng.pick(c.t.appIds),
    CorrelationId: c.rng.guid(),
    IssuedAtTime: new Date(before(c, 50)).toISOString().slice(0, 19),
    UniqueTokenId: c.rng.hex(22),
  };
}
