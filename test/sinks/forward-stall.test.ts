/**
 * A receiver that accepts TCP and never reads (issue 12): the sink must not pile every re-sent batch
 * onto the stalled socket. Outcome: the bytes it holds for the receiver stay within the in-flight
 * window however many batches time out, and it reconnects instead of writing behind unread bytes.
 */
import { strict as assert } from 'node:assert';
import sinon from 'sinon';
import { isBridgeError } from '../../src/errors';
import { createForwardSink, type ForwardSink } from '../../src/sinks/forward/forward';
import { startReceiver, type Receiver } from '../support/receiver';

async function until(pred: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 20_000; i++) {
    if (pred()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`never happened: ${what}`);
}

describe('forward sink: a receiver that never reads', () => {
  let receiver: Receiver | undefined;
  let sink: ForwardSink | undefined;
  let clock: sinon.SinonFakeTimers | undefined;
  afterEach(async () => {
    clock?.restore();
    await sink?.close();
    await receiver?.stop();
    clock = sink = receiver = undefined;
  });

  it('holds at most the in-flight window, and reconnects instead of writing again behind unread bytes', async () => {
    receiver = await startReceiver({ mode: 'never-read', store: 'count' });
    const maxBatchBytes = 1024 * 1024;
    const maxInFlight = 2;
    sink = createForwardSink({ host: '127.0.0.1', port: receiver.port, ackTimeoutMs: 1000, maxBatchBytes, maxInFlight });
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    // ~0.9 MiB per batch, 40 batches: far more than loopback's kernel buffers take, so a sink that
    // writes every re-send onto the same socket holds tens of MiB by the end.
    const blob = 'x'.repeat(900 * 1024);
    let maxBuffered = 0;
    const codes = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const sent = sink.send([{ tag: 'o365.audit.general', time: { sec: 1_700_000_000 + i, nsec: 0 }, record: { Id: `id-${i}`, blob } }]);
      const outcome = sent.then(() => 'resolved', (e: unknown) => (isBridgeError(e) ? e.code : String(e)));
      await until(() => sink!.connected, 'a connection');
      await new Promise((r) => setImmediate(r));
      maxBuffered = Math.max(maxBuffered, sink.bufferedBytes);
      clock.tick(1000);
      codes.add(await outcome);
    }
    assert.deepEqual([...codes], ['SINK_ACK_TIMEOUT'], 'every batch times out: nothing is ever acked');
    assert.ok(maxBuffered <= maxInFlight * maxBatchBytes, `held ${maxBuffered} bytes for a receiver that never reads (window: ${maxInFlight} × ${maxBatchBytes})`);
    assert.ok(sink.connectionsOpened > 1 && receiver.connections > 1, `reconnected (${sink.connectionsOpened} connections): a stalled socket is dropped, not written to again`);
  });
});
