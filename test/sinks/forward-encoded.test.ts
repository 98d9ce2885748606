import { strict as assert } from 'node:assert';
import type { OutEvent } from '../../src/contracts';
import { BridgeError } from '../../src/errors';
import { createForwardSink, type ForwardSink } from '../../src/sinks/forward/forward';
import { startReceiver, type Receiver } from '../support/receiver';

const ev = (i: number, extra: Record<string, unknown> = {}): OutEvent => ({ tag: 'o365.audit.general.x', time: { sec: 1_700_000_000, nsec: 0 }, record: { Id: `id-${i}`, ...extra } });

describe('forward sink: encoded once, re-sent as the same bytes', function () {
  this.timeout(20_000);
  let rx: Receiver | undefined;
  let sink: ForwardSink | undefined;
  afterEach(async () => {
    await sink?.close();
    await rx?.stop();
    sink = undefined;
    rx = undefined;
  });

  it('a batch not acknowledged is delivered again from its encoded bytes, same chunk id; release after', async () => {
    rx = await startReceiver({ mode: 'never-ack' });
    sink = createForwardSink({ host: '127.0.0.1', port: rx.port, ackTimeoutMs: 300 });
    const enc = sink.encode([ev(1), ev(2)]);
    assert.equal(enc.events, 2);
    assert.ok(enc.bytes > 0);
    await assert.rejects(sink.deliver(enc), (e: BridgeError) => e.code === 'SINK_ACK_TIMEOUT' && e.retryable);
    rx.setMode('ack');
    await sink.deliver(enc);
    sink.release(enc);
    const chunks = rx.packets.map((p) => p.chunk);
    assert.equal(chunks.length, 2, 'sent twice');
    assert.equal(chunks[0], chunks[1], 'as the same packet');
    assert.deepEqual([...rx.ackedIds()].sort(), ['id-1', 'id-2']);
    await assert.rejects(sink.deliver(enc), (e: BridgeError) => e.code === 'INTERNAL', 'a released batch is not sent');
  });

  it('an event too large once encoded is a permanent refusal naming it, with its encoded size', async () => {
    rx = await startReceiver();
    sink = createForwardSink({ host: '127.0.0.1', port: rx.port, maxBatchBytes: 64 * 1024 });
    // About 24 KB of JSON, over 64 KiB as msgpack float64s.
    const floats = Array.from({ length: 8000 }, () => 0.5);
    assert.ok(JSON.stringify(floats).length < 64 * 1024);
    assert.throws(
      () => sink!.encode([ev(1), ev(2, { Values: floats }), ev(3)]),
      (e: BridgeError) => e.code === 'SINK_EVENT_TOO_LARGE' && !e.retryable && e.details.index === 1 && (e.details.bytes as number) > 64 * 1024,
    );
  });
});
