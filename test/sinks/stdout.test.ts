import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import type { OutEvent } from '../../src/contracts';
import { isBridgeError } from '../../src/errors';
import { createStdoutSink, formatEventLine } from '../../src/sinks/stdout/stdout';

function ev(i: number, record: Record<string, unknown> = {}): OutEvent {
  return { tag: 'o365.audit.general', time: { sec: 1_700_000_000 + i, nsec: 5 }, record: { Id: `id-${i}`, ...record } };
}

/** A writable whose writes complete only when the test says so. */
function heldWritable(highWaterMark: number): { out: Writable; chunks: string[]; release: () => void } {
  const chunks: string[] = [];
  const pending: Array<() => void> = [];
  const out = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      pending.push(cb);
    },
  });
  return { out, chunks, release: () => { while (pending.length) pending.shift()!(); } };
}

describe('stdout sink', () => {
  it('writes one JSON line per event with tag, exact epoch-seconds time and record', async () => {
    const chunks: string[] = [];
    const sink = createStdoutSink({ write: (c) => { chunks.push(c); return true; } });
    await sink.send([ev(1, { nested: { a: [1, 'two'] } }), ev(2)]);
    const text = chunks.join('');
    assert.ok(text.endsWith('\n'));
    const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 2);
    assert.deepEqual(lines[0], { tag: 'o365.audit.general', time: 1_700_000_001.000000005, record: { Id: 'id-1', nested: { a: [1, 'two'] } } });
    assert.match(text, /"time":1700000001\.000000005,/, 'nanoseconds written exactly');
  });

  it('maps BigInt to a string, Date to ISO, leaves undefined out (as the forward sink does)', () => {
    const line = formatEventLine(ev(1, { big: 2n ** 70n, when: new Date(0), gone: undefined }));
    assert.deepEqual(JSON.parse(line).record, { Id: 'id-1', big: '1180591620717411303424', when: '1970-01-01T00:00:00.000Z' });
  });

  it('waits for drain when the stream buffer is full', async () => {
    const { out, chunks, release } = heldWritable(16);
    const sink = createStdoutSink({ out });
    let done = false;
    const p = sink.send([ev(1), ev(2)]).then(() => { done = true; });
    await new Promise((r) => setImmediate(r));
    assert.equal(chunks.length, 1, 'written');
    assert.equal(done, false, 'resolved before drain');
    release();
    await p;
    assert.equal(done, true);
  });

  it('keeps concurrent batches in order, one after the other', async () => {
    const { out, chunks, release } = heldWritable(16);
    const sink = createStdoutSink({ out });
    const p1 = sink.send([ev(1)]);
    const p2 = sink.send([ev(2)]);
    await new Promise((r) => setImmediate(r));
    assert.equal(chunks.length, 1, 'second batch written before the first drained');
    release();
    await p1;
    await new Promise((r) => setImmediate(r));
    release();
    await p2;
    assert.deepEqual(chunks.map((c) => JSON.parse(c).record.Id), ['id-1', 'id-2']);
  });

  it('awaits a custom writer that returns a promise', async () => {
    let resolveWrite!: () => void;
    const sink = createStdoutSink({ write: () => new Promise<void>((r) => { resolveWrite = r; }) });
    let done = false;
    const p = sink.send([ev(1)]).then(() => { done = true; });
    await new Promise((r) => setImmediate(r));
    assert.equal(done, false);
    resolveWrite();
    await p;
  });

  it('rejects with SINK_UNREACHABLE after a stream error, and SINK_CLOSED after close', async () => {
    const out = new Writable({ write(_c, _e, cb) { cb(new Error('EPIPE')); } });
    const sink = createStdoutSink({ out });
    await sink.send([ev(1)]).catch(() => undefined);
    await new Promise((r) => setImmediate(r));
    await assert.rejects(sink.send([ev(2)]), (e: unknown) => isBridgeError(e, 'SINK_UNREACHABLE'));
    await sink.close();
    await assert.rejects(sink.send([ev(3)]), (e: unknown) => isBridgeError(e, 'SINK_CLOSED'));
  });
});
