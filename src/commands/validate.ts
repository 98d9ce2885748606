/**
 * `o365-fluent-bridge validate [FILE|-] [--json] [--strict]`
 *
 * Checks audit records (a content blob's JSON array, or NDJSON) against schemas/, streaming: memory
 * is bounded by the largest record, not the file. Prints one line per invalid record and a summary
 * per RecordType; `--json` prints one JSON document instead.
 * Exit codes: 0 all valid, 1 some record invalid, 2 input unreadable or not JSON (the message names
 * the file and the byte offset and line where parsing failed).
 */
import * as fs from 'node:fs';
import type { Readable } from 'node:stream';
import { readRecords, type ReadItem } from '../sources/o365/blob-reader';
import { isBridgeError } from '../errors';
import type { ValidationIssue, ValidationMode } from '../contracts';
import { createValidator } from '../schema/validator';
import { recordTypeName } from '../schema/record-types';

export const USAGE = 'usage: o365-fluent-bridge validate [FILE|-] [--json] [--strict]';

/** Most invalid/malformed records kept for the --json document (the counts stay exact). */
const MAX_LISTED = 10_000;
/** Most warning lines printed in text mode (the summary still counts all). */
const MAX_WARNING_LINES = 20;
/** Most RecordType rows in the summary; hostile input with endless distinct types shares one row. */
const MAX_TYPE_ROWS = 1000;
/** Summary key for records whose RecordType arrived after MAX_TYPE_ROWS distinct ones. */
const OTHER = -0x7fffffff;

export interface ValidateIo {
  stdin: Readable;
  /** Writes text; resolves when the sink can take more (backpressure on huge outputs). */
  out(text: string): Promise<void> | void;
  err(text: string): Promise<void> | void;
}

interface Counts {
  checked: number;
  valid: number;
  invalid: number;
  warnings: number;
}

interface Listed {
  index: number;
  offset: number;
  line: number;
  id: string | null;
  recordType: number | null;
  errors: ValidationIssue[];
}

export interface Options {
  file: string;
  json: boolean;
  mode: ValidationMode;
}

function parseArgs(argv: string[]): Options | string {
  let file: string | undefined;
  let json = false;
  let mode: ValidationMode = 'default';
  for (const a of argv) {
    if (a === '--json') json = true;
    else if (a === '--strict') mode = 'strict';
    else if (a === '-' || !a.startsWith('-')) {
      if (file !== undefined) return `only one input can be checked at a time (got "${file}" and "${a}")`;
      file = a;
    } else return `unknown option "${a}"`;
  }
  return { file: file ?? '-', json, mode };
}

/** A writer that waits for 'drain' and goes quiet once the reader is gone (`validate big.json | head`). */
export function writeTo(stream: NodeJS.WritableStream): (text: string) => Promise<void> | void {
  let closed = false;
  stream.on('error', () => {
    closed = true;
  });
  return (text) => {
    if (closed) return;
    if (!stream.write(text)) {
      return new Promise<void>((resolve) => {
        const done = () => {
          stream.off('drain', done);
          stream.off('error', done);
          resolve();
        };
        stream.on('drain', done);
        stream.on('error', done);
      });
    }
  };
}

/** A record's Id for display: only a short string, JSON-quoted so control characters can't reach the terminal. */
function displayId(record: unknown): string | null {
  if (typeof record !== 'object' || record === null) return null;
  try {
    const id = (record as { Id?: unknown }).Id;
    if (typeof id !== 'string') return null;
    return id.length > 80 ? id.slice(0, 80) + '…' : id;
  } catch {
    return null;
  }
}

function typeLabel(rt: number | null): string {
  if (rt === null) return 'RecordType missing or not an integer';
  const name = recordTypeName(rt);
  return name ? `RecordType ${rt} (${name})` : `RecordType ${rt}`;
}

function issueText(i: ValidationIssue): string {
  return `${i.path || '(record)'} ${i.message} [${i.keyword}]`;
}

function pad(s: string | number, n: number, left = false): string {
  const t = String(s);
  return left ? t.padEnd(n) : t.padStart(n);
}

function summaryTable(byType: Map<number | null, Counts>, total: Counts): string {
  const rows: string[] = [`${pad('RecordType', 44, true)}${pad('checked', 9)}${pad('valid', 9)}${pad('invalid', 9)}${pad('warnings', 10)}`];
  const keys = [...byType.keys()].sort((a, b) => (a ?? -1) - (b ?? -1));
  for (const k of keys) {
    const c = byType.get(k)!;
    const label = k === null ? '(no integer RecordType)' : k === OTHER ? '(other types)' : `${k} ${recordTypeName(k) ?? '(undocumented)'}`;
    rows.push(`${pad(label.slice(0, 43), 44, true)}${pad(c.checked, 9)}${pad(c.valid, 9)}${pad(c.invalid, 9)}${pad(c.warnings, 10)}`);
  }
  rows.push(`${pad('total', 44, true)}${pad(total.checked, 9)}${pad(total.valid, 9)}${pad(total.invalid, 9)}${pad(total.warnings, 10)}`);
  return rows.join('\n') + '\n';
}

export function openSource(opts: Pick<Options, 'file'>, io: ValidateIo): AsyncIterable<Buffer | string> {
  if (opts.file === '-') return io.stdin;
  // 1 MiB reads: fewer chunks for the splitter; memory stays bounded by the largest record.
  return fs.createReadStream(opts.file, { highWaterMark: 1 << 20 });
}

export function describeReadError(file: string, e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const what: Record<string, string> = {
    ENOENT: 'no such file',
    EACCES: 'permission denied',
    EISDIR: 'is a directory',
    EMFILE: 'too many open files',
  };
  const reason = (err.code && what[err.code]) ?? err.message ?? String(e);
  return `cannot read ${file === '-' ? 'standard input' : JSON.stringify(file)}: ${reason}${err.code ? ` (${err.code})` : ''}; check the path and permissions`;
}

export async function run(argv: string[], io: ValidateIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    await io.out(USAGE + '\n');
    return 0;
  }
  const parsed = parseArgs(argv);
  if (typeof parsed === 'string') {
    await io.err(`${parsed}\n${USAGE}\n`);
    return 2;
  }
  const opts = parsed;
  const name = opts.file === '-' ? 'stdin' : opts.file;
  const validator = createValidator({ mode: opts.mode });

  const byType = new Map<number | null, Counts>();
  const total: Counts = { checked: 0, valid: 0, invalid: 0, warnings: 0 };
  const invalidList: Listed[] = [];
  const malformed: Array<{ index: number; offset: number; line: number; message: string }> = [];
  let malformedCount = 0;
  let warningLines = 0;
  let fatal: { code: string; message: string; offset?: number; line?: number } | undefined;

  const onItem = async (item: ReadItem): Promise<void> => {
    if (item.error) {
      malformedCount++;
      const message = `${name}: record ${item.index} at byte ${item.offset} (line ${item.line}) could not be read: ${item.error.message}`;
      if (malformed.length < MAX_LISTED) malformed.push({ index: item.index, offset: item.offset, line: item.line, message: item.error.message });
      if (!opts.json) await io.err(message + '\n');
      return;
    }
    const res = validator.validate(item.record);
    let key = res.recordType;
    let c = byType.get(key);
    if (!c && byType.size >= MAX_TYPE_ROWS) {
      key = OTHER;
      c = byType.get(key);
    }
    if (!c) {
      c = { checked: 0, valid: 0, invalid: 0, warnings: 0 };
      byType.set(key, c);
    }
    c.checked++;
    total.checked++;
    c.warnings += res.warnings.length;
    total.warnings += res.warnings.length;
    if (res.valid) {
      c.valid++;
      total.valid++;
    } else {
      c.invalid++;
      total.invalid++;
    }
    if (!res.valid) {
      const id = displayId(item.record);
      if (opts.json) {
        if (invalidList.length < MAX_LISTED) {
          invalidList.push({ index: item.index, offset: item.offset, line: item.line, id, recordType: res.recordType, errors: res.errors });
        }
      } else {
        await io.out(
          `invalid: record ${item.index} (line ${item.line}) Id=${id === null ? '-' : JSON.stringify(id)} ${typeLabel(res.recordType)}: ${res.errors.map(issueText).join('; ')}\n`,
        );
      }
    }
    if (res.warnings.length > 0 && !opts.json && warningLines < MAX_WARNING_LINES) {
      warningLines++;
      const id = displayId(item.record);
      await io.out(`warning: record ${item.index} (line ${item.line}) Id=${id === null ? '-' : JSON.stringify(id)}: ${res.warnings.map(issueText).join('; ')}\n`);
      if (warningLines === MAX_WARNING_LINES) await io.out(`warning: further warnings are only counted in the summary\n`);
    }
  };

  try {
    const source = openSource(opts, io);
    for await (const item of readRecords(source, { source: name, errorCode: 'INPUT_MALFORMED', allowEmpty: true })) {
      await onItem(item);
    }
  } catch (e) {
    if (isBridgeError(e)) {
      fatal = { code: e.code, message: e.message, offset: e.details.offset as number | undefined, line: e.details.line as number | undefined };
    } else {
      fatal = { code: 'INPUT_UNREADABLE', message: describeReadError(opts.file, e) };
    }
  }

  const code = fatal || malformedCount > 0 ? 2 : total.invalid > 0 ? 1 : 0;
  if (opts.json) {
    const doc = {
      input: name,
      mode: opts.mode,
      exitCode: code,
      total,
      byRecordType: [...byType.entries()]
        .sort((a, b) => (a[0] ?? -1) - (b[0] ?? -1))
        .map(([rt, c]) =>
          rt === OTHER ? { recordType: 'other', name: null, ...c } : { recordType: rt, name: rt === null ? null : recordTypeName(rt) ?? null, ...c },
        ),
      invalid: invalidList,
      invalidListed: invalidList.length < total.invalid ? invalidList.length : undefined,
      malformed,
      malformedCount,
      error: fatal,
    };
    await io.out(JSON.stringify(doc) + '\n');
  } else {
    if (!fatal || total.checked > 0) await io.out(summaryTable(byType, total));
    if (malformedCount > 0) await io.err(`${name}: ${malformedCount} record(s) could not be read as JSON; fix or remove them and run again\n`);
    if (fatal) await io.err(`error ${fatal.code}: ${fatal.message}\n`);
  }
  return code;
}

export async function main(argv: string[]): Promise<number> {
  return run(argv, { stdin: process.stdin, out: writeTo(process.stdout), err: writeTo(process.stderr) });
}
