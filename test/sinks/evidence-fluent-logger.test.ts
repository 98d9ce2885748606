/**
 * Evidence for docs/forward-delivery-findings.md: how fluent-logger 3.4.1 (lib/sender.js) behaves
 * with acknowledgements. These tests assert the library's *current* behaviour, faults included: if
 * one fails after an upgrade, the finding needs re-checking, not the test "fixing".
 */
import { strict as assert } from 'node:assert';
import sinon from 'sinon';
import { startReceiver, type Receiver } from '../support/receiver';

// Untyped internals: the sender class itself, so no 10-minute reconnect timer is set up behind our back
// unless a test asks for it (createFluentSender calls _setupErrorHandler).
// eslint-disable-next-line @typescript-eslint/no-var-requires, @typescript-eslint/no-require-imports
const FluentSender = require('fluent-logger/lib/sender') as new (tag: string, o: Record<string, unknown>) => any; // eslint-disable-line @typescript-eslint/no-explicit-any
// eslint-disable-next-line @typescript-eslint/no-var-requires, @typescript-eslint/no-require-imports
const msgpackLite = require('msgpack-lite') as { encode(v: unknown): Buffer; decode(b: Buffer): unknown };

const quiet = { info: () => undefined, error: () => undefined };

async function turns(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

describe('evidence: fluent-logger 3.4.1 with requireAckResponse', () => {
  let r: Receiver | undefined;
  let sender: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  let clock: sinon.SinonFakeTimers | undefined;

  function make(opts: Record<string, unknown> = {}): any { // eslint-disable-line @typescript-eslint/no-explicit-any
    sender = new FluentSender('ev', { host: '127.0.0.1', port: r!.port, requireAckResponse: true, ackResponseTimeout: 1000, internalLogger: quiet, ...opts });
    return sender;
  }

  afterEach(async () => {
    clock?.restore();
    clock = undefined;
    sender?._disconnect();
    sender = undefined;
    await r?.stop();
    r = undefined;
  });

  it('sender.js:409-411 takes one socket data event as one whole ack: an ack split over two TCP segments throws out of the data handler', async () => {
    r = await startReceiver({ splitAcks: true });
    make();
    const saved = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    try {
      const thrown = new Promise<Error>((res) => process.once('uncaughtException', res));
      sender.emit('a', { Id: '1' }, () => undefined);
      const err = await thrown;
      assert.match(err.message, /BUFFER_SHORTAGE/);
    } finally {
      process.removeAllListeners('uncaughtException');
      for (const l of saved) process.on('uncaughtException', l);
    }
  });

  it('sender.js:411 decodes only the first of two acks merged into one data event', () => {
    const merged = Buffer.concat([msgpackLite.encode({ ack: 'first' }), msgpackLite.encode({ ack: 'second' })]);
    assert.deepEqual(msgpackLite.decode(merged), { ack: 'first' });
  });

  it('sender.js:331-337,426-428: one packet in flight at a time (the next waits for the previous ack)', async () => {
    r = await startReceiver({ mode: 'never-ack' });
    make();
    for (let i = 0; i < 3; i++) sender.emit('a', { Id: String(i) }, () => undefined);
    await r.waitFor(() => r!.packets.length === 1);
    await turns();
    assert.equal(r.packets.length, 1);
    r.releaseHeldAcks();
    await r.waitFor(() => r!.packets.length === 2);
    await turns();
    assert.equal(r.packets.length, 2);
  });

  it('sender.js:409-435: after an ack timeout, the late ack calls the same callback again, with success', async () => {
    r = await startReceiver({ mode: 'never-ack' });
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    make();
    const calls: unknown[] = [];
    sender.emit('a', { Id: '1' }, (err?: Error) => calls.push(err?.name ?? 'ok'));
    await r.waitFor(() => r!.heldChunks().length === 1);
    clock.tick(1000);
    assert.deepEqual(calls, ['ResponseTimeoutError']);
    r.releaseHeldAcks();
    await r.waitFor(() => r!.acked === 1);
    for (let i = 0; i < 2000 && calls.length < 2; i++) await turns(1);
    assert.deepEqual(calls, ['ResponseTimeoutError', 'ok']);
  });

  it("sender.js:409,459-461: with createFluentSender's error handler, a late ack is taken by the next packet's listener: that packet fails although the receiver acked it", async () => {
    r = await startReceiver({ mode: 'never-ack' });
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    make();
    sender._setupErrorHandler(); // what createFluentSender does
    const a: string[] = [];
    const b: string[] = [];
    sender.emit('a', { Id: 'A' }, (err?: Error) => a.push(err?.name ?? 'ok'));
    await r.waitFor(() => r!.heldChunks().length === 1);
    clock.tick(1000); // A times out; the error handler clears _flushingSendQueue
    sender.emit('a', { Id: 'B' }, (err?: Error) => b.push(err?.name ?? 'ok'));
    await r.waitFor(() => r!.heldChunks().length === 2);
    r.releaseHeldAcks(1); // A's late ack: both A's stale listener and B's listener read it
    for (let i = 0; i < 2000 && b.length < 1; i++) await turns(1);
    assert.deepEqual(a, ['ResponseTimeoutError', 'ok']);
    assert.deepEqual(b, ['ResponseError']);
    r.releaseHeldAcks(1); // B's real ack: nobody listens any more
    await r.waitFor(() => r!.acked === 2);
    await turns();
    assert.deepEqual(b, ['ResponseError']);
  });

  it('sender.js:236-243: no close handler, so a dropped connection leaves the in-flight callback waiting for the ack timeout (default 190 s)', async () => {
    r = await startReceiver({ mode: 'never-ack' });
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    make({ ackResponseTimeout: 190_000 });
    const calls: string[] = [];
    sender.emit('a', { Id: '1' }, (err?: Error) => calls.push(err?.name ?? 'ok'));
    await r.waitFor(() => r!.heldChunks().length === 1);
    const closed = new Promise((res) => sender._socket.once('close', res));
    await r.pause();
    await closed;
    await turns();
    assert.deepEqual(calls, []);
    clock.tick(190_000);
    assert.deepEqual(calls, ['ResponseTimeoutError']);
  });

  it("sender.js:394-399: PackedForward's option.size carries the payload's byte length, not the event count", async () => {
    r = await startReceiver();
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    make({ eventMode: 'PackedForward' });
    let done = 0;
    for (let i = 0; i < 3; i++) sender.emit('a', { Id: String(i) }, () => done++);
    await turns();
    clock.tick(100); // flushInterval
    await r.waitFor(() => r!.acked === 3);
    assert.equal(r.packets.length, 1);
    assert.equal(r.packets[0].events, 3);
    assert.notEqual(r.packets[0].sizeOption, 3);
    assert.ok((r.packets[0].sizeOption as number) > 30, `size option ${String(r.packets[0].sizeOption)}`);
  });
});
