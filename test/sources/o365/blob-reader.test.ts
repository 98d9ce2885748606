import { strict as assert } from 'node:assert';
import { JsonSplitter, readRecords, runsOf, freeRunBuffers, RUN_BUFFERS_KEPT, RUN_BYTES, type ReadItem } from '../../../src/sources/o365/blob-reader';
import { isBridgeError } from '../../../src/errors';
import { createRouter } from '../../../src/shape/event';

async function readAll(chunks: Array<string | Buffer>, opts = {}): Promise<ReadItem[]> {
  const out: ReadItem[] = [];
  async function* src() {
    for (const c of chunks) yield typeof c === 'string' ? Buffer.from(c) : c;
  }
  for await (const it of readRecords(src(), opts)) out.push(it);
  return out;
}

/** Every split of the input into two chunks must give the same records as the whole. */
async function allSplits(text: string): Promise<unknown[][]> {
  const buf = Buffer.from(text);
  const results: unknown[][] = [];
  for (let k = 0; k <= buf.length; k++) {
    const items = await readAll([buf.subarray(0, k), buf.subarray(k)]);
    results.push(items.map((i) => i.record));
  }
  return results;
}

describe('blob reader', () => {
  it('reads a JSON array of records', async () => {
    const items = await readAll(['[{"Id":"a","RecordType":28},{"Id":"b","N":[1,2,{"x":"]"}]}]']);
    assert.deepEqual(
      items.map((i) => i.record),
      [{ Id: 'a', RecordType: 28 }, { Id: 'b', N: [1, 2, { x: ']' }] }],
    );
    assert.equal(items[0].offset, 1);
    assert.equal(items[1].index, 1);
  });

  it('reads NDJSON with line numbers', async () => {
    const items = await readAll(['{"a":1}\n{"b":"x\\ny"}\n\n{"c":3}\n']);
    assert.deepEqual(items.map((i) => i.record), [{ a: 1 }, { b: 'x\ny' }, { c: 3 }]);
    assert.deepEqual(items.map((i) => i.line), [1, 2, 4]);
  });

  it('gives the same records however the stream is split (strings, escapes, multi-byte UTF-8)', async () => {
    const text = '[ {"s":"a\\"b\\\\","u":"h\u00e9llo \u2603 \ud83d\ude00","n":-1.5e3,"t":true,"z":null}, "str", 42, [1,[2]] ]';
    const expected = JSON.parse(text);
    for (const r of await allSplits(text)) assert.deepEqual(r, expected);
  });

  it('gives the same items for random records cut at random places (escapes at chunk ends, long strings, nesting)', () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const pieces = ['a', '\\"', '\\\\', '\\u00e9', '\u00e9', '\u2603', '}', ']', '{', '[', ',', ':', '0123456789', '\\n'];
    const str = (): string => {
      let t = '';
      const n = rnd(4) === 0 ? 40 + rnd(80) : rnd(12);
      for (let k = 0; k < n; k++) t += pieces[rnd(pieces.length)];
      return '"' + t + '"';
    };
    const val = (d: number): string => {
      const k = rnd(d > 3 ? 3 : 6);
      if (k === 0) return str();
      if (k === 1) return String(rnd(1000) - 500) + (rnd(3) === 0 ? '.25' : '');
      if (k === 2) return ['true', 'false', 'null'][rnd(3)];
      if (k === 3) return '[' + Array.from({ length: rnd(4) }, () => val(d + 1)).join(',') + ']';
      return '{' + Array.from({ length: rnd(5) }, () => `${str()}:${rnd(2) ? ' ' : ''}${val(d + 1)}`).join(',') + '}';
    };
    for (let round = 0; round < 30; round++) {
      const recs = Array.from({ length: 20 }, () => '{' + Array.from({ length: 1 + rnd(6) }, () => `${str()}:${val(1)}`).join(',\n') + '}');
      const text = '[' + recs.join(rnd(2) ? ',' : ' ,\n ') + ']';
      const buf = Buffer.from(text);
      const whole = new JsonSplitter();
      const ref = [...whole.push(buf), ...whole.end()];
      assert.deepEqual(
        ref.map((i) => i.record),
        JSON.parse(text),
        'one chunk',
      );
      const cut = new JsonSplitter();
      const got: ReadItem[] = [];
      for (let at = 0; at < buf.length; ) {
        const n = 1 + rnd(rnd(3) === 0 ? 4 : 200);
        got.push(...cut.push(buf.subarray(at, at + n)));
        at += n;
      }
      got.push(...cut.end());
      const view = (i: ReadItem) => ({ record: i.record, index: i.index, offset: i.offset, line: i.line, bytes: i.bytes, proto: i.mayHaveProtoKey });
      assert.deepEqual(got.map(view), ref.map(view), `round ${round}`);
    }
  });

  it('finds every string end and number flag at every chunk boundary (escapes at each position, short and long strings)', () => {
    // Strings of 0-80 and 150 bytes with an escaped quote or backslash at each position, so the
    // word-at-a-time walk of short strings, its hand-over to the native search, and the escape carried
    // over a chunk end all meet a cut; numbers that do and do not fit a double sit between them.
    const escapes = ['\\"', '\\\\', '\\u005f', '\\n'];
    const texts: string[] = [];
    const expected: unknown[] = [];
    let k = 0;
    // Every position in short strings; in longer ones the ends and around byte 64 (where the walk stops).
    const positions = (len: number) => Array.from({ length: len + 1 }, (_, n) => n).filter((n) => len < 10 || n < 2 || n > len - 3 || (n > 58 && n < 70));
    for (const len of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 63, 70]) {
      for (const at of positions(len)) {
        const esc = escapes[k++ % escapes.length];
        const raw = 'a'.repeat(at) + esc + '_'.repeat(len - at);
        const value = JSON.parse(`"${raw}"`) as string;
        // [token, what the record holds]: 16+ digits and exponents that lose their value come back as text.
        const [tok, num] = [['42', 42], ['12345678901234567890', '12345678901234567890'], ['1e400', '1e400'], ['2.5e3', 2500], ['1234567890123456', 1234567890123456]][k % 5];
        if (k % 3) {
          texts.push(`{"s":"${raw}","n":${tok}}`);
          expected.push({ s: value, n: num });
        } else {
          texts.push(`{"a":[{"${raw}":[${tok}]},"${raw}"],"n":${tok}}`);
          expected.push({ a: [{ [value]: [num] }, value], n: num });
        }
      }
    }
    const text = '[' + texts.join(',') + ']';
    const buf = Buffer.from(text);
    assert.ok(buf.length < 9000, 'small enough to cut everywhere');
    const view = (i: ReadItem) => ({ record: i.record, error: i.error?.message, index: i.index, offset: i.offset, bytes: i.bytes, line: i.line });
    const one = new JsonSplitter();
    const whole = [...one.push(buf), ...one.end()].map(view);
    assert.deepEqual(whole.map((i) => i.record), expected);
    for (let cut = 1; cut < buf.length; cut++) {
      const s = new JsonSplitter();
      const got = [...s.push(buf.subarray(0, cut)), ...s.push(buf.subarray(cut)), ...s.end()].map(view);
      assert.deepEqual(got, whole, `cut at ${cut}`);
      // The same input stopped at the cut (every third one, to stay quick): the records before it, then a truncation error.
      if (cut % 3) continue;
      const t = new JsonSplitter();
      const before = t.push(buf.subarray(0, cut)).map(view);
      assert.deepEqual(before, whole.slice(0, before.length), `truncated at ${cut}`);
      assert.throws(() => t.end(), (e: unknown) => isBridgeError(e) && e.code === 'BLOB_MALFORMED' && /truncated/.test(e.message), `truncated at ${cut}`);
    }
  });

  // issue 17: after an escaped quote, a string is walked four bytes at a time (JSON held in a string,
  // as AIR and Safe Links records carry): every cut, escapes at each offset of the word, runs of
  // backslashes, and an escape that ends the chunk.
  it('finds the end of strings full of escaped quotes at every chunk boundary', () => {
    const inner = (n: number) => JSON.stringify({ Id: 'x'.repeat(n % 5), Entities: [{ Type: 'url', Url: 'http://e.test/?q=' + '\\'.repeat(n % 3) + 'a"b'.repeat(n % 4) }], n });
    const records = Array.from({ length: 24 }, (_, n) => ({ Data: inner(n), Pad: 'p'.repeat(n % 7), Tail: '\\'.repeat(n % 4) + '"' }));
    const text = JSON.stringify(records);
    const buf = Buffer.from(text);
    const whole = (chunks: Buffer[]) => {
      const s = new JsonSplitter();
      return [...chunks.flatMap((c) => s.push(c)), ...s.end()].map((i) => ({ record: i.record, bytes: i.bytes, offset: i.offset, error: i.error?.message }));
    };
    const one = whole([buf]);
    assert.deepEqual(one.map((i) => i.record), records);
    for (let cut = 1; cut < buf.length; cut++) assert.deepEqual(whole([buf.subarray(0, cut), buf.subarray(cut)]), one, `cut at ${cut}`);
    for (const size of [1, 2, 3, 5, 7]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < buf.length; i += size) chunks.push(buf.subarray(i, i + size));
      assert.deepEqual(whole(chunks), one, `chunks of ${size}`);
    }
  });

  it('splits byte by byte', async () => {
    const text = '[{"a":"\\\\\\"}"},{"b":"}]"}]';
    const chunks = [...Buffer.from(text)].map((b) => Buffer.from([b]));
    const items = await readAll(chunks);
    assert.deepEqual(items.map((i) => i.record), JSON.parse(text));
  });

  it('reads an empty array', async () => {
    assert.deepEqual(await readAll(['  [ ]  ']), []);
  });

  it('skips a UTF-8 byte order mark', async () => {
    const items = await readAll([Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('[{"a":1}]')])]);
    assert.deepEqual(items.map((i) => i.record), [{ a: 1 }]);
  });

  for (const [name, text] of [
    ['a body cut inside a record', '[{"Id":"a"},{"Id":"b'],
    ['a body cut between records', '[{"Id":"a"},'],
    ['a body cut before the closing bracket', '[{"Id":"a"}'],
    ['an empty body', ''],
    ['garbage after the array', '[{"a":1}] x'],
    ['a missing comma', '[{"a":1} {"b":2}]'],
    ['a trailing comma', '[{"a":1},]'],
  ] as const) {
    it(`throws BLOB_MALFORMED with the byte offset on ${name}`, async () => {
      await assert.rejects(readAll([text], { source: 'https://x/blob' }), (e: unknown) => {
        assert.ok(isBridgeError(e, 'BLOB_MALFORMED'), String(e));
        assert.match((e as Error).message, /https:\/\/x\/blob: .* at byte \d+/);
        return true;
      });
    });
  }

  it('uses INPUT_MALFORMED for files and accepts an empty file when allowed', async () => {
    assert.deepEqual(await readAll([''], { errorCode: 'INPUT_MALFORMED', allowEmpty: true }), []);
    await assert.rejects(readAll(['{"a":'], { errorCode: 'INPUT_MALFORMED' }), (e: unknown) => isBridgeError(e, 'INPUT_MALFORMED'));
  });

  it('turns an unparseable element into an error item and goes on', async () => {
    const items = await readAll(['[{"a":1},{"b":NaN},{"c":3}]']);
    assert.equal(items.length, 3);
    assert.deepEqual(items[0].record, { a: 1 });
    assert.equal(items[1].record, undefined);
    assert.equal(items[1].error?.details.reason, 'record_unparseable');
    assert.equal(items[1].raw, '{"b":NaN}');
    assert.deepEqual(items[2].record, { c: 3 });
  });

  it('refuses a record over maxRecordBytes without buffering it, and goes on', async () => {
    const big = '{"s":"' + 'x'.repeat(10_000) + '"}';
    const items = await readAll(['[{"a":1},', big.slice(0, 5000), big.slice(5000), ',{"c":3}]'], { maxRecordBytes: 4096 });
    assert.equal(items.length, 3);
    assert.equal(items[1].error?.details.reason, 'record_too_large');
    assert.ok((items[1].raw ?? '').startsWith('{"s":"xxx'));
    assert.deepEqual(items[2].record, { c: 3 });
  });

  it('refuses nesting deeper than maxDepth (10,000 deep) without throwing', async () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    const items = await readAll(['[{"ok":1},' + deep + ',{"ok":2}]']);
    assert.equal(items.length, 3);
    assert.equal(items[1].error?.details.reason, 'record_too_deep');
    assert.deepEqual(items[2].record, { ok: 2 });
  });

  it('does not pollute prototypes with __proto__ keys', async () => {
    const items = await readAll(['[{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}]']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.ok(Object.prototype.hasOwnProperty.call(items[0].record, '__proto__'));
  });

  it('keeps invalid UTF-8 as replacement characters instead of failing the blob', async () => {
    const bad = Buffer.concat([Buffer.from('[{"s":"a'), Buffer.from([0xff, 0xfe]), Buffer.from('b"}]')]);
    const items = await readAll([bad]);
    assert.equal(items.length, 1);
    assert.match((items[0].record as { s: string }).s, /^a\ufffd+b$/);
  });

  it('does not hold the blob: memory is per record (splitter keeps no finished elements)', () => {
    const s = new JsonSplitter();
    let n = 0;
    n += s.push(Buffer.from('[')).length;
    for (let i = 0; i < 1000; i++) n += s.push(Buffer.from(`{"i":${i}},`)).length;
    n += s.push(Buffer.from('{"i":-1}]')).length;
    n += s.end().length;
    assert.equal(n, 1001);
    assert.equal((s as unknown as { pieces: Buffer[] }).pieces.length, 0);
  });

  it('numbers a double cannot hold are delivered as their exact text, lone surrogates kept; both noted with their paths', async () => {
    const text =
      '[{"Id":"a","Big":12345678901234567890,"Huge":1e400,"Tiny":-2.5e-400,"Ok":[1,2.5,9007199254740993,1e3,1152921504606846976],' +
      '"Nested":{"k\\u00e9y":[0,{"n":-98765432109876543210}]},"Lone":"x\\ud800y","Pair":"\\ud83d\\ude00","s":"12345678901234567890 1e400"},' +
      '{"Id":"b","RecordType":28,"Count":12}]';
    for (const chunks of [[text], text.match(/[\s\S]{1,7}/g)!]) {
      const [a, b] = (await readAll(chunks)).map((i) => i.record as Record<string, unknown>);
      assert.equal(a.Big, '12345678901234567890');
      assert.equal(a.Huge, '1e400');
      assert.equal(a.Tiny, '-2.5e-400');
      assert.deepEqual(a.Ok, [1, 2.5, '9007199254740993', 1000, 1152921504606846976], '2^60 is exact: kept a number');
      assert.equal(((a.Nested as Record<string, unknown[]>)['k\u00e9y'][1] as { n: unknown }).n, '-98765432109876543210');
      assert.equal(a.Lone, 'x\ud800y', 'kept as is');
      const router = createRouter({ tagPrefix: 'o365' });
      const ev = router.route(a, { valid: true, recordType: null, errors: [], warnings: [] }, { tenantId: 't', contentType: 'Audit.General', contentId: 'c' });
      const w = (ev.record.o365_bridge as { warnings: Array<{ path: string; keyword: string; message: string }> }).warnings;
      assert.deepEqual(
        w.map((x) => x.path),
        ['/Big', '/Huge', '/Tiny', '/Ok/2', '/Nested/k\u00e9y/1/n', '/Lone'],
      );
      assert.ok(w.every((x) => x.keyword === 'fidelity'));
      assert.match(w[0].message, /12345678901234567890 cannot be held exactly/);
      assert.match(w[5].message, /lone UTF-16 surrogate/);
      const evB = router.route(b, { valid: true, recordType: 28, errors: [], warnings: [] }, { tenantId: 't', contentType: 'Audit.General', contentId: 'c' });
      assert.equal((evB.record.o365_bridge as { warnings?: unknown }).warnings, undefined, 'an ordinary record carries no notes');
    }
  });

  // issue 17: the poller splits a body in runs of RUN_BYTES, not in the 16 KiB pieces TLS gives.
  describe('runsOf', () => {
    async function* from(pieces: Buffer[], failAfter = Infinity) {
      let n = 0;
      for (const p of pieces) {
        if (n++ === failAfter) throw new Error('reset');
        yield p;
      }
    }
    const body = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => String.fromCharCode(97 + (i % 26))).join(''));
    /** `b` as TLS gives it: pieces of 16 KiB, the last one shorter. */
    const tlsPieces = (b: Buffer): Buffer[] => {
      const out: Buffer[] = [];
      for (let at = 0; at < b.length; at += 16384) out.push(b.subarray(at, at + 16384));
      return out;
    };

    it('gathers pieces into runs of at most RUN_BYTES (a larger piece passes alone), bytes and order kept', async () => {
      const all = body(3 * RUN_BYTES + 12345);
      const sizes = [16384, 1, 7, RUN_BYTES + 1, 16384, RUN_BYTES - 3, 5000, 2 * RUN_BYTES, 3];
      const pieces: Buffer[] = [];
      for (let at = 0, k = 0; at < all.length; k++) {
        pieces.push(all.subarray(at, at + sizes[k % sizes.length]));
        at += sizes[k % sizes.length];
      }
      const runs: Buffer[] = [];
      // A run is valid until the next is asked for: copied here, as the splitter copies what it keeps.
      for await (const r of runsOf(from(pieces))) runs.push(Buffer.from(r));
      assert.deepEqual(Buffer.concat(runs), all);
      for (const r of runs) assert.ok(r.length <= RUN_BYTES || pieces.some((p) => p.length === r.length && p.length >= RUN_BYTES), `run of ${r.length}`);
      // TLS's 16 KiB pieces: full runs, then the rest.
      const sizesOf: number[] = [];
      for await (const r of runsOf(from(tlsPieces(all)))) sizesOf.push(r.length);
      assert.deepEqual(sizesOf, [RUN_BYTES, RUN_BYTES, RUN_BYTES, all.length - 3 * RUN_BYTES]);
    });

    // Before: the bytes gathered since the last run were dropped with the error, so the records in them
    // were not read on that try (with a reset at the same place on every try, not until the blob came whole).
    it('gives what a failing source gave before its error, then the error', async () => {
      const got: string[] = [];
      await assert.rejects(async () => {
        for await (const r of runsOf(from([Buffer.from('[{"a":1},'), Buffer.from('{"b":2},{"c"'), Buffer.from('x')], 2))) got.push(r.toString());
      }, /reset/);
      assert.equal(got.join(''), '[{"a":1},{"b":2},{"c"');
      // Whole runs before it as well: a run, then the rest, then the error.
      const big = body(RUN_BYTES + 100);
      const parts: number[] = [];
      await assert.rejects(async () => {
        for await (const r of runsOf(from([big.subarray(0, 40000), big.subarray(40000), Buffer.from('y')], 2))) parts.push(r.length);
      }, /reset/);
      assert.deepEqual(parts, [40000, RUN_BYTES + 100 - 40000]);
    });

    // A fixed set of buffers (the first version) ran out in CI: reads whose bodies hang for ever in
    // other tests never gave theirs back, and every later body went to the splitter piece by piece.
    it('gathers pieces while other reads hang for ever, and keeps a bounded number of buffers for reuse', async () => {
      const hanging = Array.from({ length: RUN_BUFFERS_KEPT + 4 }, () =>
        runsOf(
          (async function* () {
            yield body(10);
            await new Promise(() => undefined);
          })(),
        ),
      );
      for (const h of hanging) void h.next(); // each takes a buffer and waits for ever
      const sizes: number[] = [];
      for await (const r of runsOf(from(tlsPieces(body(RUN_BYTES + 5))))) sizes.push(r.length);
      assert.deepEqual(sizes, [RUN_BYTES, 5]);
      // Many reads at once, then all ended (run out, left early, failed): at most RUN_BUFFERS_KEPT stay.
      const many = Array.from({ length: RUN_BUFFERS_KEPT + 8 }, (_, i) => runsOf(from([body(5), body(5)], i % 3 === 0 ? 1 : Infinity)));
      await Promise.all(many.map((m) => m.next()));
      const drain = async (m: AsyncGenerator<Buffer>) => {
        try {
          for await (const _ of m) void _;
        } catch {
          // the failing ones
        }
      };
      await Promise.all(many.map((m, i) => (i % 2 ? m.return(undefined) : drain(m))));
      assert.equal(freeRunBuffers(), RUN_BUFFERS_KEPT);
      const before = freeRunBuffers();
      const it = runsOf(from([body(5)]));
      await it.next();
      assert.equal(freeRunBuffers(), before - 1, 'a kept buffer is reused');
      await it.return(undefined);
    });
  });
});
