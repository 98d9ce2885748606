import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decode, decodeMulti, encode } from '@msgpack/msgpack';
import { MsgpackFrameReader, msgpackValueEnd } from '../../src/sinks/forward/msgpack-frames';
import { MsgpackWriter } from '../../src/sinks/forward/msgpack-writer';
import { PacketBuilder } from '../../src/sinks/forward/forward-protocol';
import { packageRoot } from '../../src/paths';

function write(v: unknown): Buffer {
  const w = new MsgpackWriter(16);
  w.value(v);
  return w.buf.subarray(0, w.pos);
}

const samples = path.join(packageRoot, '..', 'shared', 'samples', 'real-records.ndjson');

describe('msgpack writer and framing', () => {
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
