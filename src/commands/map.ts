/**
 * `o365-fluent-bridge map [FILE|-] [--format ecs|raw] [--content-type CT] [--tenant ID]`
 *
 * Prints, one JSON line per record, the event `run` would deliver for it: with `--format ecs` (the
 * default here) the ECS document (docs/ecs.md), with `raw` the record plus its `o365_bridge` metadata.
 * Input as for `validate` (a content blob's JSON array, or NDJSON; streamed, memory bounded by the
 * largest record). Invalid records are mapped too, as `run` delivers them to the quarantine tag;
 * a summary goes to stderr. Exit codes: 0 mapped, 2 input unreadable or not JSON, or a usage error.
 */
import { readRecords } from '../sources/o365/blob-reader';
import { isBridgeError } from '../errors';
import { CONTENT_TYPES } from '../contracts';
import { createValidator } from '../schema/validator';
import { createRouter } from '../shape/event';
import { describeReadError, openSource, writeTo, type ValidateIo } from './validate';

export const USAGE = 'usage: o365-fluent-bridge map [FILE|-] [--format ecs|raw] [--content-type CT] [--tenant ID]';

interface Options {
  file: string;
  format: 'ecs' | 'raw';
  contentType: string;
  tenant: string;
}

function parseArgs(argv: string[]): Options | string {
  const o: Options = { file: '-', format: 'ecs', contentType: 'Audit.General', tenant: '-' };
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string | undefined => (i + 1 < argv.length ? argv[++i] : undefined);
    if (a === '--format') {
      const v = value();
      if (v !== 'ecs' && v !== 'raw') return `--format takes ecs or raw (got ${v === undefined ? 'nothing' : JSON.stringify(v)})`;
      o.format = v;
    } else if (a === '--content-type') {
      const v = value();
      if (v === undefined || !(CONTENT_TYPES as readonly string[]).includes(v)) return `--content-type takes one of ${CONTENT_TYPES.join(', ')}`;
      o.contentType = v;
    } else if (a === '--tenant') {
      const v = value();
      if (v === undefined) return '--tenant takes a tenant id';
      o.tenant = v;
    } else if (a === '-' || !a.startsWith('-')) {
      if (file !== undefined) return `only one input can be mapped at a time (got "${file}" and "${a}")`;
      file = a;
    } else return `unknown option "${a}"`;
  }
  o.file = file ?? '-';
  return o;
}

export async function run(argv: string[], io: ValidateIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    await io.out(USAGE + '\n');
    return 0;
  }
  const opts = parseArgs(argv);
  if (typeof opts === 'string') {
    await io.err(`${opts}\n${USAGE}\n`);
    return 2;
  }
  const name = opts.file === '-' ? 'stdin' : opts.file;
  const validator = createValidator({ mode: 'default' });
  const router = createRouter({ tagPrefix: 'o365', format: opts.format });
  const ctx = { tenantId: opts.tenant, contentType: opts.contentType, contentId: name };
  let mapped = 0;
  let invalid = 0;
  let malformed = 0;
  try {
    for await (const item of readRecords(openSource(opts, io), { source: name, errorCode: 'INPUT_MALFORMED', allowEmpty: true })) {
      if (item.error) {
        malformed++;
        await io.err(`${name}: record ${item.index} at byte ${item.offset} (line ${item.line}) could not be read: ${item.error.message}\n`);
        continue;
      }
      const rec = item.record;
      if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) {
        malformed++;
        await io.err(`${name}: record ${item.index} (line ${item.line}) is not a JSON object\n`);
        continue;
      }
      const res = validator.validate(rec);
      if (!res.valid) invalid++;
      const ev = router.route(rec as Record<string, unknown>, res, ctx);
      mapped++;
      await io.out(JSON.stringify(ev.record) + '\n');
    }
  } catch (e) {
    const msg = isBridgeError(e) ? `error ${e.code}: ${e.message}` : `error INPUT_UNREADABLE: ${describeReadError(opts.file, e)}`;
    await io.err(msg + '\n');
    return 2;
  }
  await io.err(`${name}: ${mapped} record(s) mapped to ${opts.format}${invalid ? `, ${invalid} invalid (run delivers those to the quarantine tag)` : ''}${malformed ? `, ${malformed} unreadable` : ''}\n`);
  return malformed > 0 ? 2 : 0;
}

export async function main(argv: string[]): Promise<number> {
  return run(argv, { stdin: process.stdin, out: writeTo(process.stdout), err: writeTo(process.stderr) });
}
