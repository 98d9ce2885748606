import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decode, decodeMulti, encode } from '@msgpack/msgpack';
import { MsgpackFrameReader, msgpackValueEnd } from '../../src/sinks/forward/msgpack-frames';
import { MEMO_SLOTS, MsgpackWriter } from '../../src/sinks/forward/msgpack-writer';
import { sharedValue } from '../../src/shape/shared';
import { PacketBuilder } from '../../src/sinks/forward/forward-protocol';
import { packageRoot } from '../../src/paths';

function write(v: unknown): Buffer {
  const w = new MsgpackWriter(16);
  w.value(v);
  return w.buf.subarray(0, w.pos);
}

const samples = path.join(packageRoot, '..', 'shared', 'samples', 'real-records.ndjson');

describe('msgpack writer and framing', () => {
  it('writes a shared value (the metadata records of one blob share) as the same bytes as a fresh copy, every time', () => {
    const metas = Array.from({ length: MEMO_SLOTS + 5 }, (_, k) => k).map((k) => sharedValue({ tenant: 't'.repeat(36), content_id: `blob-${k}-${'c'.repeat(60)}`, record_type_name: k % 2 ? null : 'ThreatIntelligence' }));
    const shared = new MsgpackWriter(16);
    const plain = new MsgpackWriter(16);
    // More shared values than the writer keeps, interleaved, in records and (not memoised) deeper down.
    for (let i = 0; i < 80; i++) {
      const m = metas[(i * 7) % metas.length];
      const rec = { Id: `r${i}`, o365_bridge: m, nested: { again: m }, list: [m] };
      shared.value(rec);
      plain.value(JSON.parse(JSON.stringify(rec)));
    }
    assert.ok(shared.buf.subarray(0, shared.pos).equals(plain.buf.subarray(0, plain.pos)));
    const back = decodeMulti(shared.buf.subarray(0, shared.pos)) as Generator<Record<string, unknown>>;
    let n = 0;
    for (const r of back) assert.deepEqual(r.o365_bridge, { ...metas[(n++ * 7) % metas.length] });
    assert.equal(n, 80);
  });

  it('round-trips JSON values through @msgpack/msgpack (every int width, floats, unicode, long strings)', () => {
    const values: unknown[] = [
      0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER,
      -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, Number.MIN_SAFE_INTEGER,
      1.5, -0.25, 1e300, '', 'a', 'x'.repeat(31), 'x'.repeat(32), 'y'.repeat(300), 'z'.repeat(70_000),
      'é', 'ü'.repeat(40), '日本語テキスト', '😀 emoji', true, false, null,
      [], Array.from({ length: 20 }, (_, i) => i), Array.from({ length: 70_000 }, () => 1),
      {}, Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])),
      { deep: { er: { still: ['ok', { x: 1 }] } } },
    ];
    for (const v of values) assert.deepEqual(decode(write(v)), v, JSON.stringify(v)?.slice(0, 60));
  });

  it('maps what JSON cannot hold the way JSON.stringify does, and decodes exactly', () => {
    // Floats beyond the safe-integer range and tricky doubles stay float64, bit for bit.
    for (const v of [2 ** 53, 2 ** 60, -(2 ** 60), 0.1 + 0.2, 5e-324, -1.7976931348623157e308, 123456789.123456789]) {
      const b = write(v);
      assert.equal(b[0], 0xcb, `${v} as float64`);
      assert.ok(Object.is(decode(b), v), String(v));
    }
    assert.ok(Object.is(decode(write(-0)), 0) || Object.is(decode(write(-0)), -0), '-0 stays a zero');
    // BigInt (never from JSON.parse, but from code): a decimal string, lossless.
    assert.equal(decode(write(2n ** 70n)), '1180591620717411303424');
    assert.equal(decode(write(-(2n ** 64n))), '-18446744073709551616');
    // NaN / Infinity → nil; undefined / function members left out of maps, nil in arrays; Date → ISO.
    assert.deepEqual(decode(write({ a: NaN, b: Infinity, c: undefined, d: () => 1, e: 1 })), { a: null, b: null, e: 1 });
    assert.deepEqual(decode(write([undefined, NaN, 1])), [null, null, 1]);
    assert.equal(decode(write(new Date(Date.UTC(2025, 2, 1, 12)))), '2025-03-01T12:00:00.000Z');
  });

  it('writes strings as UTF-8 whatever their length: surrogate pairs intact, lone surrogates as U+FFFD', () => {
    // JSON.parse makes lone surrogates from "\ud800" escapes; UTF-8 cannot hold them.
    const pair = JSON.parse('"\\ud83d\\ude00"') as string;
    const lone = JSON.parse('"a\\ud800b"') as string;
    for (const pad of [0, 40, 300]) {
      const p = 'x'.repeat(pad);
      assert.equal(decode(write(p + pair)), p + '😀');
      assert.equal(decode(write(p + lone)), p + 'a\ufffdb');
      assert.equal(decode(write(lone + p)), 'a\ufffdb' + p);
    }
    // The header is the one msgpack wants for the byte length (fixstr/str8 may be widened, never short).
    const s = 'é'.repeat(20); // 40 bytes
    const b = write(s);
    assert.equal(decode(b), s);
    assert.ok(b.length >= 42 && b.length <= 43);
  });

  it('round-trips nested objects at every map-header width (15, 16, 65,535 and 65,536 keys)', () => {
    for (const n of [15, 16, 65_535, 65_536]) {
      // Nested values in the small maps; the large ones keep to small ints (the header is what is tested).
      const val = (i: number): unknown => (n < 100 || i === n - 1 ? { i, nested: { deep: [i, `v${i}`] } } : i);
      const o = Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, val(i)]));
      const d = decode(write({ outer: o, after: 'x' })) as { outer: Record<string, unknown>; after: string };
      assert.equal(Object.keys(d.outer).length, n);
      assert.deepEqual(d.outer[`k${n - 1}`], { i: n - 1, nested: { deep: [n - 1, `v${n - 1}`] } });
      assert.equal(d.after, 'x', 'what follows a moved body is intact');
    }
  });

  it('round-trips the real audit records', function () {
    if (!fs.existsSync(samples)) this.skip();
    const recs = fs.readFileSync(samples, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    for (const r of recs) assert.deepEqual(decode(write(r)), r);
  });

  it('builds PackedForward packets whose entries decode to [EventTime, record]', () => {
    const b = new PacketBuilder(1024);
    const events = Array.from({ length: 30 }, (_, i) => ({ tag: 'a.b', time: { sec: 1000 + i, nsec: 7 }, record: { i, s: 'v'.repeat(40) } }));
    const packets = b.build(events);
    assert.ok(packets.length > 1);
    let seen = 0;
    for (const p of packets) {
      assert.ok(p.bytes.length <= 1024);
      const [tag, entries, option] = decode(p.bytes) as [string, Uint8Array, { chunk: string; size: number }];
      assert.equal(tag, 'a.b');
      assert.equal(option.chunk, p.chunk);
      const list = [...decodeMulti(entries)] as Array<[{ type: number; data: Uint8Array }, { i: number }]>;
      assert.equal(option.size, list.length);
      for (const [time, rec] of list) {
        assert.equal(time.type, 0);
        assert.equal(Buffer.from(time.data).readUInt32BE(0), 1000 + rec.i);
        assert.equal(rec.i, seen++);
      }
    }
    assert.equal(seen, 30);
  });

  // issue 17: a batch encoded event by event (the parsed record is dropped once added) is cut into the
  // same packets as the whole batch: tags in first-appearance order, the same entries, the same limits.
  it('a batch encoded as it fills makes the same packets as the whole batch (tags interleaved, packets split)', () => {
    const events = Array.from({ length: 60 }, (_, i) => ({ tag: ['a.b', 'c.dd', 'a.b', 'e'][i % 4 === 3 ? 3 : i % 3], time: { sec: 1000 + i, nsec: i }, record: { i, s: 'v'.repeat(10 + (i % 7) * 9), n: [i, -i, i / 3] } }));
    const strip = (ps: Array<{ bytes: Buffer; events: number }>) =>
      ps.map((p) => {
        const [tag, entries, option] = decode(p.bytes) as [string, Uint8Array, { chunk: string; size: number }];
        assert.ok(p.bytes.length <= 700);
        return { tag, entries: Buffer.from(entries).toString('hex'), size: option.size, events: p.events };
      });
    const whole = new PacketBuilder(700);
    const streamed = new PacketBuilder(700);
    for (let round = 0; round < 2; round++) {
      // twice: the second stream reuses the first one's scratch
      const s = streamed.stream();
      for (const e of events) s.add(e);
      assert.equal(s.events, 60);
      const got = strip(s.finish());
      assert.ok(got.length > 4, `split into ${got.length} packets`);
      assert.deepEqual(got, strip(whole.build(events)));
    }
  });

  // issue 17: lanes fill their batches at the same time; they share one small record scratch and each
  // keeps its entries in a store outside malloc, of which two are kept for reuse.
  it('batches filling at the same time (adds interleaved) make the packets each would make alone; two stores are kept and reused', () => {
    const events = (k: number) => Array.from({ length: 40 }, (_, i) => ({ tag: ['a.b', 'c.dd'][(i + k) % 2], time: { sec: 1000 + i, nsec: k }, record: { k, i, s: 'w'.repeat(5 + ((i * k) % 11) * 13) } }));
    const strip = (ps: Array<{ bytes: Buffer }>) => ps.map((p) => { const [tag, entries, option] = decode(p.bytes) as [string, Uint8Array, { size: number }]; return [tag, Buffer.from(entries).toString('hex'), option.size]; });
    const whole = new PacketBuilder(900);
    const b = new PacketBuilder(900);
    const streams = [0, 1, 2, 3, 4].map(() => b.stream());
    for (let i = 0; i < 40; i++) streams.forEach((s, k) => s.add(events(k)[i]));
    const stores = new Set<ArrayBufferLike>();
    streams.forEach((s, k) => {
      const ps = s.finish();
      assert.deepEqual(strip(ps), strip(whole.build(events(k))));
      // the batch's one buffer is outside malloc too
      assert.equal((ps[0].backing!.buffer as ArrayBuffer & { resizable?: boolean }).resizable, true);
      for (const p of ps) b.release(p);
    });
    assert.equal(b.freeStores, 2);
    // reused: the next streams take the kept stores, whatever they held before
    const again = [b.stream(), b.stream()];
    for (const e of events(9)) again.forEach((s) => s.add(e));
    for (const s of again) {
      stores.add((s as unknown as { store: Buffer }).store.buffer);
      assert.deepEqual(strip(s.finish()), strip(whole.build(events(9))));
    }
    assert.equal(stores.size, 2);
    assert.equal(b.freeStores, 2);
    assert.throws(() => again[0].add(events(0)[0]), /after finish/);
  });

  // issue 17: a store or batch buffer that is not kept for reuse gives its pages back when dropped,
  // not at the mark-compact that collects it (seconds later: dropped ones piled up, 142 → 134 MiB).
  it('stores and batch buffers beyond what is kept are emptied when dropped; the kept ones keep their bytes', () => {
    const b = new PacketBuilder(900);
    const ev = (k: number) => ({ tag: 'a.b', time: { sec: 1000, nsec: k }, record: { k, s: 'w'.repeat(200) } });
    const streams = [0, 1, 2, 3, 4, 5].map(() => b.stream());
    const stores = streams.map((s) => (s as unknown as { store: Buffer }).store);
    streams.forEach((s, k) => s.add(ev(k)));
    const packets = streams.map((s) => s.finish());
    // two stores kept, whole; the others emptied (their pages are back with the system)
    assert.equal(b.freeStores, 2);
    assert.deepEqual(stores.map((x) => x.buffer.byteLength > 0), [true, true, false, false, false, false]);
    const backings = packets.map((ps) => ps[0].backing!.buffer);
    for (const ps of packets) for (const p of ps) b.release(p);
    // four batch buffers kept, the rest emptied
    assert.deepEqual(backings.map((x) => x.byteLength > 0), [true, true, true, true, false, false]);
    // and the kept ones serve the next batches as before
    const again = b.stream();
    again.add(ev(7));
    const [p] = again.finish();
    assert.equal((decode(p.bytes) as [string, Uint8Array, { size: number }])[2].size, 1);
  });

  it('a batch encoded as it fills refuses an event too large alone, keeps nothing of it, and goes on', () => {
    const b = new PacketBuilder(400);
    const s = b.stream();
    s.add({ tag: 't', time: { sec: 1, nsec: 0 }, record: { i: 0 } });
    assert.throws(() => s.add({ tag: 't', time: { sec: 1, nsec: 0 }, record: { big: 'x'.repeat(500) } }), (e: Error & { index?: number; bytes?: number }) => e.index === 1 && (e.bytes ?? 0) > 400);
    s.add({ tag: 't', time: { sec: 1, nsec: 0 }, record: { i: 2 } });
    const ps = s.finish();
    assert.equal(ps.length, 1);
    const [, entries, option] = decode(ps[0].bytes) as [string, Uint8Array, { size: number }];
    assert.equal(option.size, 2);
    assert.deepEqual((([...decodeMulti(entries)] as Array<[unknown, { i: number }]>).map(([, r]) => r.i)), [0, 2]);
  });

  it('finds value ends, and says how many bytes an incomplete value needs at least', () => {
    const msg = Buffer.from(encode(['tag', new Uint8Array(1000), { chunk: 'c' }]));
    assert.equal(msgpackValueEnd(msg, 0, msg.length), msg.length);
    const need = ~msgpackValueEnd(msg, 0, 20);
    assert.ok(need > 1000 && need <= msg.length, `need ${need}`);
  });

  it('frames values split over chunks and merged into one chunk', () => {
    const a = Buffer.from(encode({ ack: 'first' }));
    const b = Buffer.from(encode({ ack: 'second' }));
    const all = Buffer.concat([a, b, a]);
    const got: unknown[] = [];
    const r = new MsgpackFrameReader(1024);
    for (let i = 0; i < all.length; i += 3) r.push(all.subarray(i, i + 3), (f) => got.push(decode(f)));
    r.push(Buffer.concat([a, b]), (f) => got.push(decode(f)));
    assert.deepEqual(got, [{ ack: 'first' }, { ack: 'second' }, { ack: 'first' }, { ack: 'first' }, { ack: 'second' }]);
  });

  it('refuses a frame over its bound', () => {
    const r = new MsgpackFrameReader(100);
    assert.throws(() => r.push(Buffer.from(encode('x'.repeat(500))).subarray(0, 10), () => undefined), /over 100 bytes/);
  });
});
