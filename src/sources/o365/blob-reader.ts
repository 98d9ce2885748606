/**
 * Streaming reader for content blobs (a JSON array of records) and NDJSON files.
 *
 * Why not a full streaming JSON parser: JSON.parse is native and several times faster than any
 * tokenizer written in JS. So we only *split*: a byte scanner finds where each top-level element
 * starts and ends (tracking strings, escapes and nesting; inside strings it reads four bytes at a time,
 * then jumps with the native Buffer#indexOf), and each element is handed to JSON.parse alone. Memory is bounded by the largest
 * single record (capped by `maxRecordBytes`), not by the blob.
 *
 * Two kinds of failure:
 * - the element itself is bad (JSON.parse fails, too large, nested too deep): yielded as an item with
 *   `error` so the caller can quarantine it with a reason and go on;
 * - the stream is structurally broken (truncated, garbage between elements, empty): thrown as a
 *   BridgeError (BLOB_MALFORMED by default), because the whole blob must be fetched again.
 *
 * Fidelity: JSON can carry numbers a double cannot (1e400, integers beyond 2^53) and lone surrogates
 * (`"\ud800"`), which JSON.parse turns into Infinity, a rounded value, or a string no UTF-8 encoder
 * keeps. Never silently: such a number is delivered as a string of its exact text, and both are noted
 * (field path and what happens) for the event's `o365_bridge.warnings`. The scanner flags a record only
 * when its bytes outside strings hold a long digit run or an exponent, or its text a `\uD…` escape, so
 * ordinary records pay one comparison per byte outside strings and one substring search.
 */
import { isUtf8 } from 'node:buffer';
import { BridgeError, type ErrorCode } from '../../errors';
import type { ValidationIssue } from '../../contracts';
import { noteRecord } from '../../shape/event';

/** What a `__proto__` key is renamed to: JS consumers (msgpack decoders, object spreads) reject or misread it. */
export const PROTO_KEY_RENAMED = '__proto__renamed';

export interface ReadItem {
  /** The parsed element; undefined when `error` is set. */
  record: unknown;
  /** Why this element could not be read (parse error, too large, too deep). */
  error?: BridgeError;
  /** Up to 512 characters of the raw element when `error` is set (for the quarantine). */
  raw?: string;
  /** 0-based position of the element in the blob/file. */
  index: number;
  /** Byte offset where the element starts. */
  offset: number;
  /** 1-based line where the element starts. */
  line: number;
  /** Size of the element in bytes. */
  bytes: number;
  /** Set when invalid UTF-8 in the record was replaced by U+FFFD: the caller quarantines it, whole, with this reason. */
  repaired?: string;
  /** The record's text may hold a `__proto__` key (literal or escaped): see `renameProtoKeys`. */
  mayHaveProtoKey?: boolean;
}

export interface ReadOptions {
  /** Largest single record accepted; larger ones become error items (default 16 MiB). */
  maxRecordBytes?: number;
  /** Deepest nesting accepted; deeper records become error items (default 128). */
  maxDepth?: number;
  /** Name used in error messages (a redacted URI or a file name). */
  source?: string;
  /** Code for structural errors: BLOB_MALFORMED (blobs) or INPUT_MALFORMED (files). */
  errorCode?: ErrorCode;
  /** Accept input with no value at all (an empty file); a blob body is never empty. */
  allowEmpty?: boolean;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const NL = 0x0a;
/** Bytes of a string walked in JS before the native search takes over (see findQuoteShort). */
const SHORT_STRING = 64;
const UNDERSCORE = 0x5f;

/** Byte patterns looked for once per chunk (see finishElement): a `\u` escape and a `__proto__` key. */
const ESCAPE_U = Buffer.from('\\u', 'latin1');
const PROTO = Buffer.from('__proto__', 'latin1');

/** Buffer's own decoder, without toString's argument handling (run once per record). */
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice: (this: Buffer, start: number, end: number) => string }).utf8Slice;

/**
 * Walks a string's bytes from `j` four at a time while `j <= stop` (a word holding a quote or a
 * backslash: https://graphics.stanford.edu/~seander/bithacks.html#ZeroInWord), an escape and its byte
 * skipped: the closing quote's index, or -(k + 1) with k the first byte not walked (past `stop`; past
 * the buffer's end when it ends on a backslash).
 */
function walkWords(buf: Buffer, view: DataView, j: number, stop: number): number {
  while (j <= stop) {
    const v = view.getUint32(j, true);
    const a = v ^ 0x22222222;
    const b = v ^ 0x5c5c5c5c;
    const m = (((a - 0x01010101) & ~a) | ((b - 0x01010101) & ~b)) & 0x80808080;
    if (m === 0) {
      j += 4;
      continue;
    }
    // The lowest flagged byte is exact (a false flag can only follow a true one).
    j += (31 - Math.clz32(m & -m)) >> 3;
    if (buf[j] === QUOTE) return j;
    j += 2; // a backslash and the byte it escapes
  }
  return -j - 1;
}

function isWs(c: number): boolean {
  return c === 0x20 || c === NL || c === 0x0d || c === 0x09;
}

const enum Mode {
  Unknown, // nothing but whitespace seen yet
  Array, // inside the top-level array
  Lines, // NDJSON / concatenated top-level values
  Done, // after the closing bracket of the array
}

const enum Expect {
  Value, // before an element (or the closing bracket if the array is empty so far)
  ValueAfterComma, // after a comma: an element is required
  Separator, // after an element: comma or closing bracket (array), anything (lines)
}

/** Incremental splitter: push chunks, get complete elements back. Exposed for tests and the bench. */
export class JsonSplitter {
  private readonly maxRecordBytes: number;
  private readonly maxDepth: number;
  private readonly source: string;
  private readonly errorCode: ErrorCode;
  private readonly allowEmpty: boolean;

  private mode: Mode = Mode.Unknown;
  private expect: Expect = Expect.Value;
  private pos = 0; // absolute byte offset of the start of the current chunk
  private line = 1;
  private index = 0;
  private bomChecked = false;

  // Current element being scanned.
  private inElement = false;
  private depth = 0;
  private maxSeenDepth = 0;
  private inString = false;
  private escaped = false;
  private scalar = false; // a non-string scalar at element level (number, true, null...)
  private elemOffset = 0;
  private elemLine = 0;
  private elemBytes = 0;
  private pieces: Buffer[] = [];
  private tooLarge = false;
  private rawHead = '';
  /** Digits in a row outside strings, and whether a number of the element may not fit a double. */
  private digitRun = 0;
  private numberSuspect = false;
  /**
   * Per chunk, found lazily and moved forward with the records: where the next `\u` and `__proto__`
   * start (-2: not looked for yet, -1: none in the rest of the chunk), and whether the whole chunk is
   * valid UTF-8 (0: not checked yet, 1: yes, 2: no). One native search per chunk instead of several
   * string searches per record.
   */
  private escAt = -2;
  private protoAt = -2;
  private chunkUtf8 = 0;
  constructor(opts: ReadOptions = {}) {
    this.maxRecordBytes = opts.maxRecordBytes ?? 16 * 1024 * 1024;
    this.maxDepth = opts.maxDepth ?? 128;
    this.source = opts.source ?? 'input';
    this.errorCode = opts.errorCode ?? 'BLOB_MALFORMED';
    this.allowEmpty = opts.allowEmpty ?? false;
  }

  private fail(msg: string, at: number): never {
    this.pieces = [];
    throw new BridgeError(this.errorCode, `${this.source}: ${msg} at byte ${at} (line ${this.line})`, {
      retryable: this.errorCode === 'BLOB_MALFORMED',
      details: { offset: at, line: this.line },
    });
  }

  push(chunk: Buffer): ReadItem[] {
    const out: ReadItem[] = [];
    let buf = chunk;
    if (!this.bomChecked && buf.length > 0) {
      this.bomChecked = true;
      if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
        buf = buf.subarray(3);
        this.pos += 3;
      }
    }
    const len = buf.length;
    const view = new DataView(buf.buffer, buf.byteOffset, len);
    this.escAt = -2;
    this.protoAt = -2;
    this.chunkUtf8 = 0;
    let segStart = this.inElement ? 0 : -1; // where the current element's bytes begin in this chunk
    let i = 0;
    while (i < len) {
      if (this.inElement && this.depth > 0) {
        // Inside an object or array (nearly every byte of a blob): one tight loop with its state in locals.
        const end = this.scanNested(buf, view, i, len);
        if (end < 0) {
          i = len;
          break;
        }
        i = end;
        this.finishElement(buf, segStart, i, out);
        segStart = -1;
        continue;
      }
      if (this.inString) {
        // A top-level string element (strings inside objects and arrays are scanNested's).
        let from = i;
        if (this.escaped) {
          this.escaped = false;
          from = i + 1;
          if (from > len) break;
        }
        const end = this.findQuote(buf, view, from);
        if (end < 0) {
          i = len;
          break;
        }
        this.inString = false;
        i = end + 1;
        this.finishElement(buf, segStart, i, out);
        segStart = -1;
        continue;
      }
      const c = buf[i];
      if (this.inElement) {
        // A top-level scalar (number, true, null...): it ends at the first byte that cannot be part of it.
        if (isWs(c) || c === COMMA || c === RBRACKET || c === RBRACE || c === LBRACE || c === LBRACKET || c === QUOTE) {
          this.scalar = false;
          this.finishElement(buf, segStart, i, out);
          segStart = -1;
          continue; // re-examine c as a separator
        }
        i++;
        continue;
      }
      // Between elements.
      if (isWs(c)) {
        if (c === NL) this.line++;
        i++;
        continue;
      }
      switch (this.mode) {
        case Mode.Unknown:
          if (c === LBRACKET) {
            this.mode = Mode.Array;
            this.expect = Expect.Value;
            i++;
            continue;
          }
          this.mode = Mode.Lines;
          this.expect = Expect.Value;
          break; // fall through to start an element
        case Mode.Done:
          return this.fail('unexpected data after the end of the JSON array', this.pos + i);
        case Mode.Array:
          if (this.expect === Expect.Separator) {
            if (c === COMMA) {
              this.expect = Expect.ValueAfterComma;
              i++;
              continue;
            }
            if (c === RBRACKET) {
              this.mode = Mode.Done;
              i++;
              continue;
            }
            this.fail(`expected "," or "]" but found ${JSON.stringify(String.fromCharCode(c))}`, this.pos + i);
          }
          if (c === RBRACKET && this.expect === Expect.Value) {
            this.mode = Mode.Done;
            i++;
            continue;
          }
          if (c === COMMA || c === RBRACKET) this.fail(`expected a value but found ${JSON.stringify(String.fromCharCode(c))}`, this.pos + i);
          break;
        case Mode.Lines:
          if (c === COMMA || c === RBRACKET || c === RBRACE) {
            this.fail(`unexpected ${JSON.stringify(String.fromCharCode(c))} between records`, this.pos + i);
          }
          break;
      }
      // Start an element at i.
      this.inElement = true;
      this.elemOffset = this.pos + i;
      this.elemLine = this.line;
      this.elemBytes = 0;
      this.tooLarge = false;
      this.rawHead = '';
      this.depth = 0;
      this.maxSeenDepth = 0;
      this.digitRun = 0;
      this.numberSuspect = false;
      segStart = i;
      if (c === QUOTE) {
        this.inString = true;
        i++;
      } else if (c === LBRACE || c === LBRACKET) {
        this.depth = 1;
        this.maxSeenDepth = 1;
        i++;
      } else {
        this.scalar = true;
        i++;
      }
    }
    if (this.inElement && segStart >= 0) this.keep(buf, segStart, len);
    this.pos += len;
    return out;
  }

  /** Call at end of input: completes a trailing scalar, or throws if the input was cut short. */
  end(): ReadItem[] {
    const out: ReadItem[] = [];
    if (this.inElement && this.scalar && !this.inString) {
      this.scalar = false;
      this.finishElement(Buffer.alloc(0), 0, 0, out);
    }
    if (this.inElement) this.fail('input ends inside a record (truncated)', this.pos);
    if (this.mode === Mode.Array) this.fail('input ends before the closing "]" (truncated)', this.pos);
    if (this.mode === Mode.Unknown && !this.allowEmpty) this.fail('empty body, expected a JSON array', this.pos);
    return out;
  }

  /**
   * Scans an object or array element (depth ≥ 1) from `i`: the offset just after its closing bracket,
   * or -1 when the chunk ends first (the state is kept for the next chunk). Strings are skipped with
   * findQuoteShort / findQuote; outside them each byte costs a few comparisons (nesting, lines, and
   * the digit runs and exponents that mark a number a double may not hold).
   */
  private scanNested(buf: Buffer, view: DataView, i: number, len: number): number {
    let depth = this.depth;
    let maxSeen = this.maxSeenDepth;
    let digitRun = this.digitRun;
    let suspect = this.numberSuspect;
    let line = this.line;
    let result = -1;
    if (this.inString) {
      let from = i;
      if (this.escaped) {
        // The chunk before ended on a backslash: this chunk's first byte is the escaped one.
        this.escaped = false;
        from = i + 1;
      }
      const q = from >= len ? -1 : this.findQuote(buf, view, from);
      if (q < 0) return -1;
      this.inString = false;
      i = q + 1;
    }
    while (i < len) {
      const c = buf[i];
      if (c === QUOTE) {
        digitRun = 0;
        const q = this.findQuoteShort(buf, view, i + 1, len);
        if (q < 0) {
          this.inString = true;
          break;
        }
        i = q + 1;
        continue;
      }
      if (c === COLON || c === COMMA) {
        // The most frequent bytes outside strings: test them first.
        digitRun = 0;
        i++;
        continue;
      }
      if (c >= 0x30 && c <= 0x39) {
        // 16+ digits may not fit a double exactly.
        if (++digitRun >= 16) suspect = true;
        i++;
        continue;
      }
      // An exponent (digit then e/E): 1e400 is Infinity to JSON.parse.
      if ((c === 0x65 || c === 0x45) && digitRun > 0) suspect = true;
      digitRun = 0;
      if (c === LBRACE || c === LBRACKET) {
        if (++depth > maxSeen) maxSeen = depth;
      } else if (c === RBRACE || c === RBRACKET) {
        if (--depth === 0) {
          result = i + 1;
          break;
        }
      } else if (c === NL) {
        line++;
      }
      i++;
    }
    this.depth = depth;
    this.maxSeenDepth = maxSeen;
    this.digitRun = digitRun;
    this.numberSuspect = suspect;
    this.line = line;
    return result;
  }

  /**
   * findQuote(buf, from) for a string just opened: most are short keys and values, for which the native
   * search costs more than the string, so its first bytes are walked here four at a time (walkWords).
   */
  private findQuoteShort(buf: Buffer, view: DataView, from: number, len: number): number {
    const r = walkWords(buf, view, from, Math.min(len - 4, from + SHORT_STRING));
    if (r >= 0) return r;
    const j = -r - 1;
    if (j > len) {
      // The chunk ends on a backslash: its escaped byte comes first in the next chunk.
      this.escaped = true;
      return -1;
    }
    // j is not an escaped byte, so the general search from j gives the same answer as from `from`.
    return this.findQuote(buf, view, j);
  }

  /** Index of the closing quote at or after `from`, or -1 (then `escaped` holds the state at chunk end). */
  private findQuote(buf: Buffer, view: DataView, from: number): number {
    const q = buf.indexOf(QUOTE, from);
    if (q < 0) {
      let n = 0;
      for (let k = buf.length - 1; k >= from && buf[k] === BACKSLASH; k--) n++;
      this.escaped = (n & 1) === 1;
      return -1;
    }
    let n = 0;
    for (let k = q - 1; k >= from && buf[k] === BACKSLASH; k--) n++;
    if ((n & 1) === 0) return q;
    // An escaped quote: likely text with many of them (JSON held in a string, as Defender records
    // carry). Walk the rest four bytes at a time (walkWords), escapes inline, instead of one
    // native search per quote: byte by byte, this walk was 13 % of the reader on Defender records.
    const len = buf.length;
    const r = walkWords(buf, view, q + 1, len - 4);
    if (r >= 0) return r;
    let j = -r - 1;
    while (j < len) {
      const d = buf[j];
      if (d === QUOTE) return j;
      j += d === BACKSLASH ? 2 : 1;
    }
    // j > len: the chunk ends on a backslash, its escaped byte comes first in the next chunk.
    this.escaped = j > len;
    return -1;
  }

  private keep(buf: Buffer, start: number, end: number): void {
    const n = end - start;
    this.elemBytes += n;
    if (this.tooLarge) return;
    if (this.elemBytes > this.maxRecordBytes) {
      // Stop buffering: keep scanning to find the end, then report it as one bad record.
      this.tooLarge = true;
      if (this.rawHead === '') this.rawHead = Buffer.concat([...this.pieces, buf.subarray(start, end)]).toString('utf8', 0, 512);
      this.pieces = [];
      return;
    }
    // Copy: the caller may reuse the chunk's memory after push() returns.
    this.pieces.push(Buffer.from(buf.subarray(start, end)));
  }

  /** Where `needle` next occurs in buf at or after `start`, given the chunk's memo `at` for it. */
  private static next(buf: Buffer, needle: Buffer, at: number, start: number): number {
    return at === -2 || (at >= 0 && at < start) ? buf.indexOf(needle, start) : at;
  }

  /**
   * `buf.indexOf(PROTO, start)`, faster on most text: the native search for a 9-byte needle switches to a
   * skip table that crawls through text rich in its letters (o, r, t, p), while `_` is rare, so look for
   * that byte (memchr) and compare the rest here. Text with many `_` goes back to the needle search.
   */
  private static nextProto(buf: Buffer, at: number, start: number): number {
    if (!(at === -2 || (at >= 0 && at < start))) return at;
    const last = buf.length - PROTO.length; // the last offset where the needle fits
    let p = buf.indexOf(UNDERSCORE, start);
    for (let misses = 0; p >= 0 && p <= last; misses++) {
      if (buf[p + 1] === UNDERSCORE && buf[p + 2] === 0x70 && buf[p + 3] === 0x72 && buf[p + 4] === 0x6f && buf[p + 5] === 0x74 && buf[p + 6] === 0x6f && buf[p + 7] === UNDERSCORE && buf[p + 8] === UNDERSCORE) return p;
      if (misses === 16) return buf.indexOf(PROTO, p + 1);
      p = buf.indexOf(UNDERSCORE, p + 1);
    }
    return -1;
  }

  private finishElement(buf: Buffer, segStart: number, end: number, out: ReadItem[]): void {
    const start = segStart < 0 ? 0 : segStart;
    const index = this.index++;
    // Every field set, in one order: one object shape for every item the caller reads.
    const item: ReadItem = { record: undefined, error: undefined, raw: undefined, index, offset: this.elemOffset, line: this.elemLine, bytes: 0, repaired: undefined, mayHaveProtoKey: undefined };
    let text: string | undefined;
    let bytes: Buffer | undefined;
    /** The whole element lies in `buf` (the common case): its checks use the chunk's memos. */
    let inChunk = false;
    if (this.pieces.length === 0 && !this.tooLarge) {
      item.bytes = end - start;
      if (item.bytes > this.maxRecordBytes) this.tooLarge = true;
      else {
        text = utf8Slice.call(buf, start, end);
        inChunk = true;
      }
      if (this.tooLarge) this.rawHead = buf.toString('utf8', start, Math.min(end, start + 512));
    } else {
      this.keep(buf, start, end);
      item.bytes = this.elemBytes;
      if (!this.tooLarge) text = (bytes = this.pieces.length === 1 ? this.pieces[0] : Buffer.concat(this.pieces)).toString('utf8');
    }
    this.pieces = [];
    this.inElement = false;
    if (this.mode === Mode.Array || this.mode === Mode.Lines) this.expect = Expect.Separator;
    if (this.mode === Mode.Lines) this.expect = Expect.Value;

    if (this.tooLarge) {
      item.error = new BridgeError('BLOB_MALFORMED', `record ${index} is ${item.bytes} bytes, over the ${this.maxRecordBytes}-byte limit`, {
        details: { reason: 'record_too_large', index, bytes: item.bytes },
      });
      item.raw = this.rawHead.slice(0, 512);
    } else if (this.maxSeenDepth > this.maxDepth) {
      item.error = new BridgeError('BLOB_MALFORMED', `record ${index} is nested ${this.maxSeenDepth} deep, over the limit of ${this.maxDepth}`, {
        details: { reason: 'record_too_deep', index, depth: this.maxSeenDepth },
      });
      item.raw = text!.slice(0, 512);
    } else {
      try {
        item.record = JSON.parse(text!);
        // Invalid UTF-8 decodes to U+FFFD, so "repaired" is exactly "the bytes are not valid UTF-8".
        // `\u00…` may spell `__proto__`; `\ud…` may be a lone surrogate. Each costly check runs only on a hit.
        let badUtf8: boolean;
        let escapes: boolean;
        let proto: boolean;
        if (inChunk) {
          if (this.chunkUtf8 === 0) this.chunkUtf8 = isUtf8(buf) ? 1 : 2;
          badUtf8 = this.chunkUtf8 === 2 && !isUtf8(buf.subarray(start, end));
          const e = (this.escAt = JsonSplitter.next(buf, ESCAPE_U, this.escAt, start));
          escapes = e >= 0 && e + ESCAPE_U.length <= end;
          const p = (this.protoAt = JsonSplitter.nextProto(buf, this.protoAt, start));
          proto = p >= 0 && p + PROTO.length <= end;
        } else {
          badUtf8 = text!.includes('\uFFFD') && !isUtf8(bytes!);
          escapes = text!.includes('\\u');
          proto = text!.includes('__proto__');
        }
        if (badUtf8) item.repaired = 'invalid UTF-8 replaced by U+FFFD';
        if (proto || (escapes && text!.includes('\\u00'))) item.mayHaveProtoKey = true;
        const loneEscape = escapes && (text!.includes('\\ud') || text!.includes('\\uD'));
        if ((this.numberSuspect || loneEscape) && item.record !== null && typeof item.record === 'object') {
          const notes = fidelityNotes(item.record as object, text!, this.numberSuspect, loneEscape);
          if (notes.length) noteRecord(item.record as object, notes);
        }
      } catch (e) {
        item.error = new BridgeError('BLOB_MALFORMED', `record ${index} is not valid JSON: ${(e as Error).message}`, {
          details: { reason: 'record_unparseable', index },
        });
        item.raw = text!.slice(0, 512);
      }
    }
    this.tooLarge = false;
    out.push(item);
  }
}

/** Notes kept per record; beyond, one more entry counts the rest. */
const MAX_FIDELITY_NOTES = 20;
const FIDELITY = 'fidelity';

function pointer(path: ReadonlyArray<string | number>): string {
  return path.map((k) => '/' + String(k).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

/** True when a JSON number token's value is not what JSON.parse gives (overflow, underflow, an integer a double rounds). */
export function numberLosesValue(tok: string): boolean {
  const v = Number(tok);
  if (!Number.isFinite(v)) return true;
  if (/^-?\d+$/.test(tok)) return !Number.isSafeInteger(v) && BigInt(tok) !== BigInt(v);
  return v === 0 && /[1-9]/.test(tok.replace(/[eE].*$/, ''));
}

/** Number tokens of a JSON text that lose their value, with their paths (keys and indexes). */
export function lossyNumbers(text: string): Array<{ path: Array<string | number>; token: string }> {
  const out: Array<{ path: Array<string | number>; token: string }> = [];
  const stack: Array<{ arr: boolean; key: string | number }> = [];
  let expectKey = false;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let j = i + 1;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === BACKSLASH) j += 2;
        else if (d === QUOTE) break;
        else j++;
      }
      const top = stack[stack.length - 1];
      if (top && !top.arr && expectKey) {
        top.key = JSON.parse(text.slice(i, j + 1)) as string;
        expectKey = false;
      }
      i = j + 1;
    } else if (c === LBRACE) {
      stack.push({ arr: false, key: '' });
      expectKey = true;
      i++;
    } else if (c === LBRACKET) {
      stack.push({ arr: true, key: 0 });
      i++;
    } else if (c === RBRACE || c === RBRACKET) {
      stack.pop();
      i++;
    } else if (c === COMMA) {
      const top = stack[stack.length - 1];
      if (top?.arr) top.key = (top.key as number) + 1;
      else expectKey = true;
      i++;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      while (j < n) {
        const d = text.charCodeAt(j);
        if ((d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d) j++;
        else break;
      }
      const tok = text.slice(i, j);
      if (tok.length >= 16 || /[eE]/.test(tok)) {
        if (numberLosesValue(tok)) out.push({ path: stack.map((s) => s.key), token: tok });
      }
      i = j;
    } else i++;
  }
  return out;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function findLoneSurrogates(v: unknown, path: Array<string | number>, out: Array<Array<string | number>>, depth: number): void {
  if (out.length > MAX_FIDELITY_NOTES || depth > 256) return;
  if (typeof v === 'string') {
    if (LONE_SURROGATE.test(v)) out.push([...path]);
    return;
  }
  if (v === null || typeof v !== 'object') return;
  if (Array.isArray(v)) {
    v.forEach((x, i) => findLoneSurrogates(x, [...path, i], out, depth + 1));
    return;
  }
  for (const k of Object.keys(v)) {
    if (LONE_SURROGATE.test(k)) out.push([...path, k]);
    findLoneSurrogates((v as Record<string, unknown>)[k], [...path, k], out, depth + 1);
  }
}

/**
 * The record's numbers that lose their value (each replaced by a string of its exact text) and strings
 * holding lone surrogates (kept: the stdout sink writes them escaped; UTF-8 cannot carry them, so a
 * forward receiver gets U+FFFD), as warnings with their paths.
 */
export function fidelityNotes(record: object, text: string, numbers: boolean, surrogates: boolean): ValidationIssue[] {
  const notes: ValidationIssue[] = [];
  if (numbers) {
    for (const { path, token } of lossyNumbers(text)) {
      let o: unknown = record;
      for (let k = 0; k < path.length - 1 && o !== null && typeof o === 'object'; k++) o = (o as Record<string | number, unknown>)[path[k]];
      const last = path[path.length - 1];
      if (o !== null && typeof o === 'object' && last !== undefined && typeof (o as Record<string | number, unknown>)[last] === 'number') {
        (o as Record<string | number, unknown>)[last] = token;
      }
      if (notes.length < MAX_FIDELITY_NOTES) {
        notes.push({ path: pointer(path), keyword: FIDELITY, message: `number ${token.slice(0, 40)} cannot be held exactly (a double would make it ${String(Number(token))}); delivered as a string with its exact digits` });
      }
    }
  }
  if (surrogates) {
    const paths: Array<Array<string | number>> = [];
    findLoneSurrogates(record, [], paths, 0);
    for (const p of paths.slice(0, MAX_FIDELITY_NOTES)) {
      notes.push({ path: pointer(p), keyword: FIDELITY, message: 'holds a lone UTF-16 surrogate (\\uD800-\\uDFFF escape): kept as is, but UTF-8 cannot carry it, so a forward receiver gets U+FFFD' });
    }
  }
  return notes;
}

/**
 * Renames own `__proto__` keys at any depth to PROTO_KEY_RENAMED; true if any was found. JSON.parse makes
 * them harmless data here, but JS receivers (msgpack decoders, @fluent-org's server) refuse a record
 * carrying one, which would hold delivery forever.
 */
export function renameProtoKeys(v: unknown, depth = 0): boolean {
  if (v === null || typeof v !== 'object' || depth > 256) return false;
  let found = false;
  if (Array.isArray(v)) {
    for (const x of v) if (renameProtoKeys(x, depth + 1)) found = true;
    return found;
  }
  const o = v as Record<string, unknown>;
  if (Object.prototype.hasOwnProperty.call(o, '__proto__')) {
    const value = Object.getOwnPropertyDescriptor(o, '__proto__')!.value as unknown;
    delete o['__proto__'];
    Object.defineProperty(o, PROTO_KEY_RENAMED, { value, enumerable: true, writable: true, configurable: true });
    found = true;
  }
  for (const k in o) if (renameProtoKeys(o[k], depth + 1)) found = true;
  return found;
}

/**
 * Bytes of a body handed to the splitter at once by runsOf. 64 KiB gave the same CPU per record as
 * 256 KiB (on Defender records, −8 % against 16 KiB pieces in A/B pairs; the smaller realistic-mix
 * records showed no change) without the larger one's +2 MiB peak RSS (its pushes hold 4 times as
 * many parsed records at once).
 */
export const RUN_BYTES = 64 * 1024;
/**
 * Run buffers kept for reuse: as many as blobs are read at once by default (4 tenants × 4 blobs).
 * Plain buffers, not allocLarge's: the splitter reads words through a DataView, which Node 20's V8
 * runs several times slower on a resizable ArrayBuffer (the bridge's CPU per record rose by a fifth).
 * At 64 KiB they are below glibc's mmap threshold, so freeing one (beyond the kept ones) does not
 * raise it (see core/large-buffer.ts). Not a fixed set: a read whose body hangs for ever holds its
 * buffer until both are collected, and must not starve the others.
 */
export const RUN_BUFFERS_KEPT = 16;
const freeRuns: Buffer[] = [];

/**
 * A body's pieces gathered into runs of up to RUN_BYTES (a piece that large passes as it is). TLS hands
 * a body over in 16 KiB pieces, and each push costs the splitter its set-up and a record cut in two
 * (copied, then joined): 4 times fewer of both. A run is valid until the next one is asked for; its
 * buffer goes back when the iteration ends, however it ends. A source that fails gives its error
 * after the bytes it gave before.
 */
export async function* runsOf(body: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  const run = freeRuns.pop() ?? Buffer.allocUnsafeSlow(RUN_BYTES);
  try {
    let fill = 0;
    let failure: { error: unknown } | undefined;
    try {
      for await (const piece of body) {
        const chunk = typeof piece === 'string' ? Buffer.from(piece) : piece;
        if (fill > 0 && fill + chunk.length > RUN_BYTES) {
          const n = fill;
          fill = 0;
          yield run.subarray(0, n);
        }
        if (chunk.length >= RUN_BYTES) yield chunk;
        else {
          chunk.copy(run, fill);
          fill += chunk.length;
        }
      }
    } catch (error) {
      failure = { error };
    }
    // What arrived before a reset is read before the error is: the records it holds are delivered,
    // as they were when each piece went to the splitter (a blob cut at the same place on every try).
    if (fill > 0) yield run.subarray(0, fill);
    if (failure) throw failure.error;
  } finally {
    if (freeRuns.length < RUN_BUFFERS_KEPT) freeRuns.push(run);
  }
}

/** Run buffers free for reuse now (for tests). */
export function freeRunBuffers(): number {
  return freeRuns.length;
}

/**
 * Reads records from a byte stream (a content blob's body, a file, stdin), yielding each as soon as
 * it is complete. Detects a JSON array vs NDJSON from the first non-blank byte.
 */
export async function* readRecords(source: AsyncIterable<Buffer | string>, opts: ReadOptions = {}): AsyncGenerator<ReadItem> {
  const splitter = new JsonSplitter(opts);
  for await (const chunk of source) {
    const items = splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    for (const item of items) yield item;
  }
  for (const item of splitter.end()) yield item;
}
