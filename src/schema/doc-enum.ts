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
import type { DataValidationCxt } from 'ajv/dist/types';
import type { ValidationIssue, ValidationMode } from '../contracts';

export const DOC_ENUM = 'x-docEnum';

type DocEnumSchema = Array<string | number> | { values?: Array<string | number>; ignoreCase?: boolean; table?: string };

/** Where default-mode warnings go while one record is validated (validation is synchronous). */
export interface WarningSink {
  warnings: ValidationIssue[] | null;
}

const MAX_SHOWN = 12;
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

export function addDocEnumKeyword(ajv: Ajv, mode: ValidationMode, sink: WarningSink, tables: Record<string, Readonly<Record<string, string>>>): void {
  ajv.addKeyword({
    keyword: DOC_ENUM,
    schemaType: ['array', 'object'],
    errors: true,
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
    compile(schema: DocEnumSchema) {
      let values: Array<string | number>;
      let ignoreCase = false;
      let listed: string;
      if (Array.isArray(schema)) values = schema;
      else if (schema.table !== undefined) values = Object.keys(tables[schema.table]).map(Number);
      else {
        values = schema.values ?? [];
        ignoreCase = schema.ignoreCase === true;
      }
      const numbers = new Set<number>();
      const strings = new Set<string>();
      for (const v of values) {
        if (typeof v === 'number') numbers.add(v);
        else strings.add(ignoreCase ? v.toLowerCase() : v);
      }
      if (!Array.isArray(schema) && schema.table !== undefined) listed = `the ${values.length} ${schema.table} values in schemas/record-types.json`;
      else listed = values.slice(0, MAX_SHOWN).map(show).join(', ') + (values.length > MAX_SHOWN ? `, … (${values.length} values)` : '');

      const check = function docEnum(data: unknown, cxt?: DataValidationCxt): boolean {
        let known: boolean;
        if (typeof data === 'number') known = numbers.size === 0 || numbers.has(data);
        else if (typeof data === 'string') known = strings.size === 0 || strings.has(ignoreCase ? data.toLowerCase() : data);
        else return true; // other types are the `type` keyword's business
        if (known) return true;
        const message = `${show(data)} is not a documented value (documented: ${listed})`;
        if (mode === 'strict') {
          check.errors = [{ keyword: DOC_ENUM, message, params: { allowedValues: values } }];
          return false;
        }
        const list = (sink.warnings ??= []);
        if (list.length < MAX_WARNINGS) list.push({ path: cxt?.instancePath ?? '', message, keyword: DOC_ENUM });
        else if (list.length === MAX_WARNINGS) list.push({ path: '', message: '1 more value outside a documented enum, not listed', keyword: TRUNCATED });
        else {
          const last = list[MAX_WARNINGS];
          const n = Number(/^\d+/.exec(last.message)?.[0] ?? '1') + 1;
          last.message = `${n} more values outside documented enums, not listed`;
        }
        return true;
      } as ((data: unknown, cxt?: DataValidationCxt) => boolean) & { errors?: Array<Record<string, unknown>> };
      return check;
    },
  });
}
