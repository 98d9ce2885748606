import { strict as assert } from 'node:assert';
import { PassThrough, Writable } from 'node:stream';
import { Decoder, Encoder, ExtensionCodec } from '@msgpack/msgpack';
import type { OutEvent } from '../../src/contracts';
import { isBridgeError, type BridgeError } from '../../src/errors';
import { createStdioSink, sinkModule } from '../../src/sinks';
import { STDIO_CONFIG_KEYS } from '../../src/sinks/stdio';
import { MsgpackFrameReader } from '../support/receiver-msgpack';

const codec = new ExtensionCodec();
codec.register({
  type: 0,
  encode: () => null,
  decode: (d: Uint8Array) => {
    const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
    return { sec: v.getUint32(0), nsec: v.getUint32(4) };
  },
});
const decoder = new Decoder({ extensionCodec: codec });
const enc = new Encoder();

function ev(i: number, tag = 'o365.audit.general'): OutEvent {
  return { tag, time: { sec: 1_700_000_000 + i, nsec: 123_456_789 }, record: { Id: `id-${i}`, n: i } };
}

interface Seen {
  tag: string;
  chunk: string;
  size: number;
  entries: Array<[{ sec: number; nsec: number }, Record<string, unknown>]>;
}

/** The parent's side: decodes the packets the sink writes; `ack` answers on the sink's stdin. */
function rig(opts: { ackTimeoutMs?: number; maxInFlight?: number } = {}) {
  const out = new PassThrough();
  const input = new PassThrough();
  const seen: Seen[] = [];
  const reader = new MsgpackFrameReader(64 * 1024 * 1024);
  out.on('data', (c: Buffer) =>
    reader.push(c, (frame) => {
      const [tag, entries, option] = decoder.decode(frame) as [string, Uint8Array, { chunk: string; size: number }];
      seen.push({ tag, chunk: option.chunk, size: option.size, entries: [...decoder.decodeMulti(entries)] as Seen['entries'] });
    }),
  );
  const gone: BridgeError[] = [];
  const sink = createStdioSink({ out, in: input, ackTimeoutMs: opts.ackTimeoutMs ?? 30_000, maxInFlight: opts.maxInFlight, onPeerGone: (e) => gone.push(e) });
  const ack = (chunk: string) => input.write(Buffer.from(enc.encode({ ack: chunk })));
  return { out, input, seen, sink, ack, gone };
}

const tick = () => new Promise((r) => setImmediate(r));
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await tick();
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 2));
  assert.ok(cond(), 'condition not reached');
}

function settled(p: Promise<void>): { state: () => 'pending' | 'resolved' | 'rejected'; err: () => unknown } {
  let state: 'pending' | 'resolved' | 'rejected' = 'pending';
  let err: unknown;
  p.then(() => (state = 'resolved'), (e) => ((state = 'rejected'), (err = e)));
  return { state: () => state, err: () => err };
}

describe('stdio sink (forward protocol on stdout, acks on stdin)', () => {
  it('writes PackedForward packets with a chunk option, one per tag, and resolves only when all are acked', async () => {
    const r = rig();
    const s = settled(r.sink.send([ev(1), ev(2), ev(3, 'o365.audit.exchange')]));
    await until(() => r.seen.length === 2);
    assert.deepEqual(r.seen.map((p) => [p.tag, p.size]), [['o365.audit.general', 2], ['o365.audit.exchange', 1]]);
    assert.deepEqual(r.seen[0].entries[0], [{ sec: 1_700_000_001, nsec: 123_456_789 }, { Id: 'id-1', n: 1 }]);
    r.ack(r.seen[0].chunk);
    await tick();
    await tick();
    assert.equal(s.state(), 'pending', 'one packet of two acked: not delivered yet');
    r.ack(r.seen[1].chunk);
    await until(() => s.state() !== 'pending');
    assert.equal(s.state(), 'resolved');
    await r.sink.close();
  });

  it('reads acks split across reads and merged in one read', async () => {
    const r = rig();
    const a = settled(r.sink.send([ev(1)]));
    const b = settled(r.sink.send([ev(2)]));
    await until(() => r.seen.length === 2);
    const bytes = Buffer.concat([enc.encode({ ack: r.seen[0].chunk }), enc.encode({ ack: r.seen[1].chunk })]);
    r.input.write(bytes.subarray(0, 7));
    await tick();
    r.input.write(bytes.subarray(7));
    await until(() => a.state() !== 'pending' && b.state() !== 'pending');
    assert.deepEqual([a.state(), b.state()], ['resolved', 'resolved']);
    await r.sink.close();
  });

  it('no ack before the deadline: rejects SINK_ACK_TIMEOUT (retryable), and a late ack is ignored', async () => {
    const r = rig({ ackTimeoutMs: 30 });
    const s = settled(r.sink.send([ev(1)]));
    await until(() => s.state() !== 'pending');
    assert.equal(s.state(), 'rejected');
    assert.ok(isBridgeError(s.err()) && (s.err() as BridgeError).code === 'SINK_ACK_TIMEOUT' && (s.err() as BridgeError).retryable);
    r.ack(r.seen[0].chunk);
    await until(() => r.sink.unmatchedAcks === 1);
    await r.sink.close();
  });

  it('holds batches beyond maxInFlight back until earlier ones are acked', async () => {
    const r = rig({ maxInFlight: 1 });
    const a = settled(r.sink.send([ev(1)]));
    const b = settled(r.sink.send([ev(2)]));
    await until(() => r.seen.length === 1);
    await tick();
    assert.equal(r.seen.length, 1, 'second batch waits for the first ack');
    r.ack(r.seen[0].chunk);
    await until(() => r.seen.length === 2);
    r.ack(r.seen[1].chunk);
    await until(() => b.state() !== 'pending');
    assert.deepEqual([a.state(), b.state()], ['resolved', 'resolved']);
    await r.sink.close();
  });

  it('stdin ending (the parent died) rejects what is pending, calls onPeerGone once, and refuses later sends', async () => {
    const r = rig();
    const s = settled(r.sink.send([ev(1)]));
    await until(() => r.seen.length === 1);
    r.input.end();
    await until(() => s.state() !== 'pending');
    assert.equal(s.state(), 'rejected');
    assert.equal((s.err() as BridgeError).code, 'SINK_UNREACHABLE');
    assert.equal(r.gone.length, 1);
    assert.match(r.gone[0].message, /closed standard input/);
    await assert.rejects(r.sink.send([ev(2)]), (e: BridgeError) => e.code === 'SINK_UNREACHABLE');
    await r.sink.close();
    assert.equal(r.gone.length, 1);
  });

  it('stdout failing (EPIPE) counts as the parent gone', async () => {
    const input = new PassThrough();
    const out = new Writable({ write: (_c, _e, cb) => cb(Object.assign(new Error('broken pipe'), { code: 'EPIPE' })) });
    const gone: BridgeError[] = [];
    const sink = createStdioSink({ out, in: input, onPeerGone: (e) => gone.push(e) });
    await assert.rejects(sink.send([ev(1)]), (e: BridgeError) => e.code === 'SINK_UNREACHABLE' && /EPIPE/.test(e.message));
    assert.equal(gone.length, 1);
    await sink.close();
  });

  it('garbage on stdin (not the plugin) ends it instead of guessing at acks', async () => {
    const r = rig();
    const s = settled(r.sink.send([ev(1)]));
    await until(() => r.seen.length === 1);
    r.input.write(Buffer.from([0xc1]));
    await until(() => s.state() !== 'pending');
    assert.equal((s.err() as BridgeError).code, 'SINK_UNREACHABLE');
    assert.match(r.gone[0].message, /undecodable/);
    await r.sink.close();
  });

  it('an event over maxBatchBytes is refused as not retryable', async () => {
    const input = new PassThrough();
    const sink = createStdioSink({ out: new PassThrough(), in: input, maxBatchBytes: 1024 });
    await assert.rejects(sink.send([{ ...ev(1), record: { big: 'x'.repeat(5000) } }]), (e: BridgeError) => e.code === 'SINK_EVENT_TOO_LARGE' && !e.retryable);
    await sink.close();
  });

  // issue 17: plugin mode held parsed records until a batch was full; now they are encoded as they come.
  it('encodes event by event (Sink.encoder): the same packets on the wire as a whole batch, acked the same way', async () => {
    const r = rig();
    const e = r.sink.encoder!();
    for (const x of [ev(1), ev(2), ev(3, 'o365.audit.exchange')]) e.add(x);
    assert.equal(e.events, 3);
    const batch = e.finish();
    const s = settled(r.sink.deliver(batch));
    await until(() => r.seen.length === 2);
    assert.deepEqual(r.seen.map((p) => [p.tag, p.size, p.entries.map(([, rec]) => rec.Id)]), [['o365.audit.general', 2, ['id-1', 'id-2']], ['o365.audit.exchange', 1, ['id-3']]]);
    for (const p of r.seen) r.ack(p.chunk);
    await until(() => s.state() !== 'pending');
    assert.equal(s.state(), 'resolved');
    r.sink.release(batch);
    await r.sink.close();
  });

  it('an event too large for a packet is refused by the encoder alone; the batch goes on without it', async () => {
    const input = new PassThrough();
    const sink = createStdioSink({ out: new PassThrough(), in: input, maxBatchBytes: 1024 });
    const e = sink.encoder!();
    e.add(ev(1));
    assert.throws(() => e.add({ ...ev(2), record: { big: 'x'.repeat(5000) } }), (err: BridgeError) => err.code === 'SINK_EVENT_TOO_LARGE' && !err.retryable && err.details.index === 0);
    e.add(ev(3));
    assert.equal(e.events, 2);
    e.abandon();
    await sink.close();
  });

  it('close() rejects what waits with SINK_CLOSED', async () => {
    const r = rig();
    const s = settled(r.sink.send([ev(1)]));
    await until(() => r.seen.length === 1);
    await r.sink.close();
    await until(() => s.state() !== 'pending');
    assert.equal((s.err() as BridgeError).code, 'SINK_CLOSED');
    assert.equal(r.gone.length, 0, 'our own close is not the parent going away');
  });

  it('is in the registry: acknowledging, described, and says which sink keys apply', () => {
    const m = sinkModule('stdio');
    assert.equal(m.acknowledges, true);
    assert.match(m.describe({} as never), /sink stdio/);
    assert.equal(m.largestEvent({ maxBatchBytes: 4 * 1024 * 1024 } as never), 4 * 1024 * 1024 - 64 * 1024);
    assert.deepEqual([...STDIO_CONFIG_KEYS].sort(), ['ackTimeoutSeconds', 'maxBatchBytes', 'maxBatchEvents', 'maxInFlightBatches']);
  });

  it('deliver() of the same encoded batch again (after a timeout) writes the same chunk ids; release frees it', async () => {
    const r = rig({ ackTimeoutMs: 30 });
    const enc = r.sink.encode([ev(1)]);
    await assert.rejects(r.sink.deliver(enc), (e: BridgeError) => e.code === 'SINK_ACK_TIMEOUT');
    const again = settled(r.sink.deliver(enc));
    await until(() => r.seen.length === 2);
    assert.equal(r.seen[1].chunk, r.seen[0].chunk, 're-sent as it is');
    r.ack(r.seen[1].chunk);
    await until(() => again.state() !== 'pending');
    assert.equal(again.state(), 'resolved');
    r.sink.release(enc);
    await assert.rejects(r.sink.deliver(enc), /released/);
    await r.sink.close();
  });
});
