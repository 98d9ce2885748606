/**
 * The `x-docEnum` keyword: "this field has a documented value set". Microsoft's enum tables lag
 * behind what the service sends, so a value outside the set is only a *warning* in default mode
 * (the record stays valid) and an *error* in strict mode. Other keywords (type, required, format,
 * pattern) are errors in every mode.
 *
 * Schema forms:
 *   "x-docEnum": ["Inline", "Delayed", "ZAP"]
 *   "x-docEnum": { "values": [0, 1, "online"], "ignoreCase": true }
 *   "x-docEnum": { "table": "AuditLogRecordType" }      (a table of schemas/record-types.json)
 * A value is only compared with the listed values of its own JSON type: a string is never checked
 * against an integer-only list (Policy documents integers, records send unlisted strings).
 */
import type Ajv from 'ajv';
import type { KeywordCxt } from 'ajv';
import { _, strConcat } from 'ajv/dist/compile/codegen';
import N from 'ajv/dist/compile/names';
import type { ValidationIssue, ValidationMode } from '../contracts';

export const DOC_ENUM = 'x-docEnum';

export type DocEnumSchema = Array<string | number> | { values?: Array<string | number>; ignoreCase?: boolean; table?: string };

/** Where default-mode warnings go while one record is validated (validation is synchronous). */
export interface WarningSink {
  warnings: ValidationIssue[] | null;
}

const MAX_SHOWN = 12;
/** Integer value sets up to this value also get a bitmap (RecordType's table reaches a few hundred). */
const MAX_BITS = 4096;
/**
 * Warnings kept per record; beyond, one summary entry counts the rest. A record with 30,000
 * attachments each outside an enum would otherwise carry megabytes of warnings into its event.
 */
export const MAX_WARNINGS = 20;
const TRUNCATED = 'truncated';

function show(v: string | number): string {
  const s = typeof v === 'string' ? JSON.stringify(v.length > 64 ? v.slice(0, 64) + '…' : v) : String(v);
  return s;
}

/** One compiled value set; the generated validation code calls into it. */
class DocEnumCheck {
  private readonly numbers = new Set<number>();
  private readonly strings = new Set<string>();
  /** The listed strings as written: with ignoreCase, most values match one as is, without toLowerCase. */
  private readonly exact = new Set<string>();
  /** bits[n] === 1 for each listed n in [0, bits.length): an array index instead of a Set lookup. */
  private readonly bits: Uint8Array;
  private readonly ignoreCase: boolean;
  private readonly listed: string;

  constructor(
    schema: DocEnumSchema,
    tables: Record<string, Readonly<Record<string, string>>>,
    private readonly sink: WarningSink,
  ) {
    let values: Array<string | number>;
    let ignoreCase = false;
    if (Array.isArray(schema)) values = schema;
    else if (schema.table !== undefined) values = Object.keys(tables[schema.table]).map(Number);
    else {
      values = schema.values ?? [];
      ignoreCase = schema.ignoreCase === true;
    }
    this.ignoreCase = ignoreCase;
    for (const v of values) {
      if (typeof v === 'number') this.numbers.add(v);
      else {
        this.strings.add(ignoreCase ? v.toLowerCase() : v);
        this.exact.add(v);
      }
    }
    let max = -1;
    for (const n of this.numbers) if (Number.isInteger(n) && n >= 0 && n < MAX_BITS && n > max) max = n;
    this.bits = new Uint8Array(max + 1);
    for (const n of this.numbers) if (Number.isInteger(n) && n >= 0 && n <= max) this.bits[n] = 1;
    if (!Array.isArray(schema) && schema.table !== undefined) this.listed = `the ${values.length} ${schema.table} values in schemas/record-types.json`;
    else this.listed = values.slice(0, MAX_SHOWN).map(show).join(', ') + (values.length > MAX_SHOWN ? `, … (${values.length} values)` : '');
  }

  /** True for a documented value, and for other types (the `type` keyword's business). Allocates nothing. */
  known(data: unknown): boolean {
    if (typeof data === 'number') {
      if (this.numbers.size === 0) return true;
      // Every listed integer in range is in bits, so in range bits is the whole answer (-0 reads bits[0], as Set.has(-0) finds 0).
      if (data >= 0 && data < this.bits.length && Number.isInteger(data)) return this.bits[data] === 1;
      return this.numbers.has(data);
    }
    if (typeof data === 'string') {
      if (this.strings.size === 0 || this.exact.has(data)) return true;
      return this.ignoreCase && this.strings.has(data.toLowerCase());
    }
    return true;
  }

  message(data: string | number): string {
    return `${show(data)} is not a documented value (documented: ${this.listed})`;
  }

  /** Default mode: an undocumented value is a warning; the record stays valid. */
  warn(data: string | number, instancePath: string): void {
    const list = (this.sink.warnings ??= []);
    if (list.length < MAX_WARNINGS) list.push({ path: instancePath, message: this.message(data), keyword: DOC_ENUM });
    else if (list.length === MAX_WARNINGS) list.push({ path: '', message: '1 more value outside a documented enum, not listed', keyword: TRUNCATED });
    else {
      const last = list[MAX_WARNINGS];
      const n = Number(/^\d+/.exec(last.message)?.[0] ?? '1') + 1;
      last.message = `${n} more values outside documented enums, not listed`;
    }
  }
}

/**
 * The keyword is inline code, not a function keyword: ajv calls a function keyword with a fresh
 * context object (and a concatenated instance path) per checked field, which for a valid Defender
 * record was most of the ~400 bytes validation allocated. The generated code now only calls
 * `known(data)`; the path and the message are built when a value is undocumented.
 */
export function addDocEnumKeyword(
  ajv: Ajv,
  mode: ValidationMode,
  sink: WarningSink,
  tables: Record<string, Readonly<Record<string, string>>>,
): (schema: DocEnumSchema) => (data: unknown) => boolean {
  const checks = new WeakMap<object, DocEnumCheck>();
  const checkFor = (schema: DocEnumSchema): DocEnumCheck => {
    let c = checks.get(schema);
    if (!c) checks.set(schema, (c = new DocEnumCheck(schema, tables, sink)));
    return c;
  };
  ajv.addKeyword({
    keyword: DOC_ENUM,
    schemaType: ['array', 'object'],
    metaSchema: {
      anyOf: [
        { type: 'array', items: { type: ['string', 'integer'] } },
        {
          type: 'object',
          additionalProperties: false,
          properties: {
            values: { type: 'array', items: { type: ['string', 'integer'] } },
            ignoreCase: { type: 'boolean' },
            table: { type: 'string', enum: Object.keys(tables) },
          },
        },
      ],
    },
    error: {
      message: (cxt) => _`${cxt.gen.scopeValue('keyword', { ref: checkFor(cxt.schema as DocEnumSchema) })}.message(${cxt.data})`,
    },
    code(cxt: KeywordCxt) {
      const { gen, data, it } = cxt;
      const check = gen.scopeValue('keyword', { ref: checkFor(cxt.schema as DocEnumSchema) });
      if (mode === 'strict') {
        cxt.fail(_`!${check}.known(${data})`);
        return;
      }
      gen.if(_`!${check}.known(${data})`, () => gen.code(_`${check}.warn(${data}, ${strConcat(N.instancePath, it.errorPath)})`));
    },
  });
  // The membership test alone, for the yes/no pre-check (fast.ts): the same check object ajv calls.
  return (schema) => {
    const c = checkFor(schema);
    return (data) => c.known(data);
  };
}
