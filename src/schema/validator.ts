/**
 * Validates audit records against schemas/ (JSON Schema 2020-12, ajv). Every schema is compiled
 * once per mode and cached; the validator for a record is found by its integer RecordType in an
 * array built at start (no per-record string building). A type without its own schema
 * (schemas/<n>.schema.json) is checked against the common schema alone — normal, not an error.
 *
 * Never throws: hostile input (non-objects, throwing getters, 10 MB strings, deep nesting) gives an
 * invalid result. The common case — a valid record without warnings — returns a shared frozen
 * result per RecordType, so the hot path allocates nothing of its own.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { RecordValidator, ValidationIssue, ValidationMode, ValidationResult } from '../contracts';
import { schemasDir } from '../paths';
import { BridgeError } from '../errors';
import { RECORD_FORMATS, addRecordFormats } from './formats';
import { compileFast, FastUnsupported, type FastCheck } from './fast';
import { addDocEnumKeyword, type WarningSink } from './doc-enum';
import { RECORD_TYPE_TABLES } from './record-types';

export const SCHEMA_BASE_URI = 'https://o365-fluent-bridge.invalid/schemas/';
const COMMON_ID = SCHEMA_BASE_URI + 'common.schema.json';

/** Most issues reported for one record; a hostile record can otherwise produce millions. */
export const MAX_ISSUES = 100;
/** RecordType values up to this get a slot in the lookup array; larger ones use the common schema. */
const TABLE_SIZE = 1024;
/** See Compiled.misses: a type whose pre-check says "no" to more than a third of its records stops using it for a while. */
const MISS_COST = 2;
const MISS_LIMIT = 64;
export const SKIP_RECORDS = 1000;

const EMPTY: ValidationIssue[] = Object.freeze([]) as unknown as ValidationIssue[];

interface Compiled {
  readonly mode: ValidationMode;
  readonly common: ValidateFunction;
  /** byType[n] = validator for RecordType n (the common one when n has no schema of its own). */
  readonly byType: ValidateFunction[];
  /**
   * The yes/no pre-check per RecordType (fast.ts), null where a schema has something it does not
   * handle. Yes means ajv would say valid with no warnings; otherwise ajv runs and its answer stands.
   */
  readonly fastByType: Array<FastCheck | null>;
  readonly fastCommon: FastCheck | null;
  /**
   * Per RecordType slot (TABLE_SIZE: types without a slot): a "no" costs the pre-check on top of
   * ajv, so a stream where most records of a type warn (an undocumented value in every record)
   * would be slower than ajv alone. `misses` rises by MISS_COST per "no" and falls by 1 per "yes";
   * at MISS_LIMIT the type skips the pre-check for the next SKIP_RECORDS records, then tries again.
   */
  readonly misses: Int32Array;
  readonly skip: Int32Array;
  /** Record types that have a schema of their own. */
  readonly specificTypes: readonly number[];
  readonly sink: WarningSink;
  /** Shared frozen "valid, no warnings" results, one per RecordType, made on first use. */
  readonly validResults: Array<ValidationResult | undefined>;
}

const cache = new Map<ValidationMode, Compiled>();

function listSchemaFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listSchemaFiles(full));
    else if (entry.name.endsWith('.schema.json')) out.push(full);
  }
  return out.sort();
}

function compile(mode: ValidationMode, dir: string): Compiled {
  const sink: WarningSink = { warnings: null };
  const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true, strict: true, strictRequired: false, validateFormats: true });
  addFormats(ajv);
  addRecordFormats(ajv);
  const docEnum = addDocEnumKeyword(ajv, mode, sink, RECORD_TYPE_TABLES as unknown as Record<string, Readonly<Record<string, string>>>);
  const byId = new Map<string, object>();

  const specific = new Map<number, string>();
  for (const file of listSchemaFiles(dir)) {
    let schema: { $id?: string };
    try {
      schema = JSON.parse(fs.readFileSync(file, 'utf8')) as { $id?: string };
    } catch (e) {
      throw new BridgeError('INTERNAL', `schema ${file} is not valid JSON (${(e as Error).message}); reinstall the package`, { cause: e });
    }
    ajv.addSchema(schema);
    if (typeof schema.$id === 'string') byId.set(schema.$id, schema);
    const m = /^(\d+)\.schema\.json$/.exec(path.basename(file));
    if (m && path.dirname(file) === dir && schema.$id) specific.set(Number(m[1]), schema.$id);
  }
  const get = (id: string): ValidateFunction => {
    const fn = ajv.getSchema(id);
    if (!fn) throw new BridgeError('INTERNAL', `schema ${id} not found in ${dir}; reinstall the package`);
    return fn;
  };
  const common = get(COMMON_ID);
  const byType: ValidateFunction[] = new Array<ValidateFunction>(TABLE_SIZE).fill(common);
  for (const [n, id] of specific) {
    if (n < TABLE_SIZE) byType[n] = get(id);
  }
  const fast = (id: string): FastCheck | null => {
    try {
      return compileFast(id, { schemas: byId, formats: RECORD_FORMATS, docEnum });
    } catch (e) {
      if (e instanceof FastUnsupported) return null;
      throw e;
    }
  };
  const fastCommon = fast(COMMON_ID);
  const fastByType = new Array<FastCheck | null>(TABLE_SIZE).fill(fastCommon);
  for (const [n, id] of specific) {
    if (n < TABLE_SIZE) fastByType[n] = fast(id);
  }
  const misses = new Int32Array(TABLE_SIZE + 1);
  const skip = new Int32Array(TABLE_SIZE + 1);
  return { mode, common, byType, fastByType, fastCommon, misses, skip, specificTypes: [...specific.keys()].sort((a, b) => a - b), sink, validResults: [] };
}

function compiled(mode: ValidationMode): Compiled {
  let c = cache.get(mode);
  if (!c) {
    c = compile(mode, schemasDir);
    cache.set(mode, c);
  }
  return c;
}

function escapePointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

function toIssues(errors: readonly ErrorObject[]): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  for (const e of errors) {
    // An `if` failure only says "the then-branch failed"; that branch's own errors say where and why.
    if (e.keyword === 'if') continue;
    if (out.length >= MAX_ISSUES) {
      out.push({ path: '', message: `more than ${MAX_ISSUES} problems; the rest are not listed`, keyword: 'truncated' });
      break;
    }
    let p = e.instancePath;
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'required') {
      // Point at the missing member itself: /FileData/SHA256, not /FileData.
      const missing = String((e.params as { missingProperty?: string }).missingProperty);
      p = `${p}/${escapePointer(missing)}`;
      message = 'is required';
    } else if (e.keyword === 'format') {
      message = `must be a valid ${String((e.params as { format?: string }).format)}`;
    }
    out.push({ path: p, message, keyword: e.keyword });
  }
  return out;
}

function invalid(recordType: number | null, errors: ValidationIssue[], warnings: ValidationIssue[] | null): ValidationResult {
  return { valid: false, recordType, errors, warnings: warnings ?? EMPTY };
}

/** 'off': ajv alone; 'adaptive': the pre-check, skipped for a while where it keeps saying no; 'always': on every record. */
type Precheck = 'off' | 'adaptive' | 'always';

function validateWith(c: Compiled, record: unknown, precheck: Precheck): ValidationResult {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    const what = record === null ? 'null' : Array.isArray(record) ? 'an array' : typeof record;
    return invalid(null, [{ path: '', message: `must be an object (a record), not ${what}`, keyword: 'type' }], null);
  }
  let rt: unknown;
  let fn: ValidateFunction = c.common;
  let quick: FastCheck | null = c.fastCommon;
  let recordType: number | null = null;
  try {
    rt = (record as { RecordType?: unknown }).RecordType;
    if (typeof rt === 'number' && Number.isInteger(rt)) {
      recordType = rt;
      if (rt >= 0 && rt < TABLE_SIZE) {
        fn = c.byType[rt];
        quick = c.fastByType[rt];
      }
    }
    if (precheck === 'always') {
      if (quick !== null && passes(quick, record)) return sharedValid(c, recordType);
    } else if (precheck === 'adaptive' && quick !== null) {
      const slot = recordType !== null && recordType >= 0 && recordType < TABLE_SIZE ? recordType : TABLE_SIZE;
      if (c.skip[slot] > 0) c.skip[slot]--;
      else if (passes(quick, record)) {
        if (c.misses[slot] > 0) c.misses[slot]--;
        return sharedValid(c, recordType);
      } else if ((c.misses[slot] += MISS_COST) >= MISS_LIMIT) {
        c.misses[slot] = 0;
        c.skip[slot] = SKIP_RECORDS;
      }
    }
    c.sink.warnings = null;
    const ok = fn(record);
    const warnings = c.sink.warnings as ValidationIssue[] | null;
    c.sink.warnings = null;
    if (ok) {
      if (warnings !== null) return { valid: true, recordType, errors: EMPTY, warnings };
      return sharedValid(c, recordType);
    }
    return invalid(recordType, toIssues(fn.errors ?? []), warnings);
  } catch (e) {
    // Throwing getters, proxies, stack exhaustion: the record is unusable, never our caller's problem.
    c.sink.warnings = null;
    const why = e instanceof RangeError ? 'is too deeply nested or too large to check' : 'could not be read';
    return invalid(recordType, [{ path: '', message: `record ${why}`, keyword: 'exception' }], null);
  }
}

/** The pre-check's yes; a throw (getter, proxy, stack) is a no: ajv then gives today's answer. */
function passes(quick: FastCheck, record: object): boolean {
  try {
    return quick(record);
  } catch {
    return false;
  }
}

function sharedValid(c: Compiled, recordType: number | null): ValidationResult {
  const slot = recordType !== null && recordType >= 0 && recordType < TABLE_SIZE ? recordType : -1;
  if (slot < 0) return { valid: true, recordType, errors: EMPTY, warnings: EMPTY };
  let r = c.validResults[slot];
  if (r === undefined) {
    r = Object.freeze({ valid: true, recordType, errors: EMPTY, warnings: EMPTY }) as ValidationResult;
    c.validResults[slot] = r;
  }
  return r;
}

/**
 * A validator for the given mode ('default': values outside a documented enum are warnings;
 * 'strict': they are errors). Compiles schemas/ on the first call per mode (throws BridgeError
 * INTERNAL only if the installed schemas are broken); later calls share the compiled set.
 * `precheck` is for the tests that compare the paths (all give the same results): false is ajv
 * alone, 'always' the pre-check on every record, the default (true) the pre-check except where it
 * keeps saying no (see Compiled.misses).
 */
export function createValidator(opts: { mode?: ValidationMode; precheck?: boolean | 'always' } = {}): RecordValidator {
  const mode: ValidationMode = opts.mode ?? 'default';
  const precheck: Precheck = opts.precheck === false ? 'off' : opts.precheck === 'always' ? 'always' : 'adaptive';
  const c = compiled(mode);
  return Object.freeze({
    mode,
    validate: (record: unknown): ValidationResult => validateWith(c, record, precheck),
  });
}

/** RecordType values whose schema the pre-check handles, and whether the common schema is one (for tests). */
export function precheckedTypes(mode: ValidationMode = 'default'): { common: boolean; specific: number[] } {
  const c = compiled(mode);
  return { common: c.fastCommon !== null, specific: c.specificTypes.filter((n) => c.fastByType[n] !== null) };
}

/** Records the given RecordType will still validate without the pre-check (for tests; see Compiled.misses). */
export function precheckSkipping(recordType: number, mode: ValidationMode = 'default'): number {
  const c = compiled(mode);
  return c.skip[recordType >= 0 && recordType < TABLE_SIZE ? recordType : TABLE_SIZE];
}

/** RecordType values that have a schema of their own in schemas/ (e.g. [28, 41, 47, 64]). */
export function specificRecordTypes(): readonly number[] {
  return compiled('default').specificTypes;
}
