/**
 * The AuditLogRecordType and UserType enumerations, read from schemas/record-types.json (the one copy
 * of the table: the validator's x-docEnum keyword reads the same file). Member names are exactly as
 * Microsoft's schema documentation spells them — including 22 'Viva Engage' and 216 'Viva Goals',
 * which contain a space — so anything derived from them (event tags) must normalise spaces itself.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { schemasDir } from '../paths';

export interface RecordTypeTables {
  AuditLogRecordType: Readonly<Record<string, string>>;
  UserType: Readonly<Record<string, string>>;
  AuditLogScope: Readonly<Record<string, string>>;
}

function toNumberKeyed(table: Readonly<Record<string, string>>): Readonly<Record<number, string>> {
  const out: Record<number, string> = Object.create(null);
  for (const [k, v] of Object.entries(table)) out[Number(k)] = v;
  return Object.freeze(out);
}

/** The raw tables as stored in schemas/record-types.json (string keys). */
export const RECORD_TYPE_TABLES: Readonly<RecordTypeTables> = (() => {
  const raw = JSON.parse(fs.readFileSync(path.join(schemasDir, 'record-types.json'), 'utf8')) as RecordTypeTables;
  return Object.freeze({
    AuditLogRecordType: Object.freeze({ ...raw.AuditLogRecordType }),
    UserType: Object.freeze({ ...raw.UserType }),
    AuditLogScope: Object.freeze({ ...raw.AuditLogScope }),
  });
})();

/** AuditLogRecordType value → member name (e.g. 28 → 'ThreatIntelligence'); 257 documented values. */
export const AUDIT_LOG_RECORD_TYPES: Readonly<Record<number, string>> = toNumberKeyed(RECORD_TYPE_TABLES.AuditLogRecordType);

/** UserType value → member name (e.g. 4 → 'System'). */
export const USER_TYPES: Readonly<Record<number, string>> = toNumberKeyed(RECORD_TYPE_TABLES.UserType);

/** The member name of a RecordType value, or undefined when the docs don't list it (new or renumbered). */
export function recordTypeName(n: number): string | undefined {
  return Number.isInteger(n) ? AUDIT_LOG_RECORD_TYPES[n] : undefined;
}
