/**
 * Evidence for docs/forward-delivery-findings.md: how @fluent-org/logger 1.0.10 (build/src/*.js)
 * behaves with acknowledgements. Asserts the library's current behaviour, good and bad.
 */
import { strict as assert } from 'node:assert';
import sinon from 'sinon';
import { FluentClient, FluentSocketEvent, FluentError, type FluentClientOptions } from '@fluent-org/logger';
import { startReceiver, type Receiver } from '../support/receiver';

function track(p: Promise<unknown>): { state: () => 'pending' | 'resolved' | 'rejected'; error: () => unknown; done: Promise<void> } {
  let state: 'pending' | 'resolved' | 'rejected' = 'pending';
  let err: unknown;
  const done = p.then(
    () => { state = 'resolved'; },
    (e) => { state = 'rejected'; err = e; },
  );
  return { state: () => state, error: () => err, done };
}

async function turns(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

describe('evidence: @fluent-org/logger 1.0.10 with ack', () => {
  let r: Receiver | undefined;
  let c: FluentClient | undefined;
  let clock: sinon.SinonFakeTimers | undefined;

  function make(opts: FluentClientOptions = {}, socket: Record<string, unknown> = {}): FluentClient {
    c = new FluentClient('ev', {
      ack: { ackTimeout: 1000 },
      ...opts,
      socket: { host: '127.0.0.1', port: r!.port, disableReconnect: true, timeout: -1, ...socket },
    });
    return c;
  }

  afterEach(async () => {
    clock?.restore();
    clock = undefined;
    await c?.shutdown().catch(() => undefined);
    c = undefined;
    await r?.stop();
    r = undefined;
  });

  it('socket.js:327-331,361-370 frames the ack stream: split and merged acks both work', async () => {
    r = await startReceiver({ splitAcks: true });
    make();
    await c!.connect();
    await c!.emit('a', { Id: '1' });
    await r.stop();
    r = await startReceiver({ mode: 'out-of-order', window: 2 });
    make();
    await c!.connect();
    await Promise.all([c!.emit('a', { Id: '1' }), c!.emit('b', { Id: '2' })]);
    assert.equal(r.acked, 2);
  });

  it('client.js:444-515: several packets in flight, matched by chunk id; a late ack after the timeout is ignored, rejection once', async () => {
    r = await startReceiver({ mode: 'never-ack' });
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    make();
    await c!.connect();
    const a = track(c!.emit('a', { Id: 'A' }));
    const b = track(c!.emit('b', { Id: 'B' }));
    await r.waitFor(() => r!.heldChunks().length === 2);
    clock.tick(1000);
    await Promise.all([a.done, b.done]);
    assert.ok(a.error() instanceof FluentError.AckTimeoutError);
    const next = track(c!.emit('a', { Id: 'C' }));
    await r.waitFor(() => r!.heldChunks().length === 3);
    r.releaseHeldAcks(2); // late acks of A and B
    await r.waitFor(() => r!.acked === 2);
    await turns();
    assert.equal(next.state(), 'pending');
    r.releaseHeldAcks();
    await next.done;
    assert.equal(next.state(), 'resolved');
  });

  it('modes/packed_forward.js:44-64: events of one tag emitted in the same tick share one packet and one promise, with no size bound', async () => {
    r = await startReceiver({ mode: 'never-ack' });
    make();
    await c!.connect();
    const ps = Array.from({ length: 500 }, (_, i) => c!.emit('a', { Id: String(i), pad: 'x'.repeat(2000) }));
    assert.equal(new Set(ps).size, 1, 'one shared promise');
    await r.waitFor(() => r!.packets.length === 1);
    assert.equal(r.packets[0].events, 500);
    assert.ok(r.packets[0].bytes > 1_000_000);
    r.releaseHeldAcks();
    await ps[0];
  });

  it('socket.js:404-427 + client.js (no close handler): a dropped connection leaves in-flight promises pending until the ack timeout', async () => {
    r = await startReceiver({ mode: 'never-ack' });
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    make({ ack: { ackTimeout: 60_000 } });
    await c!.connect();
    const closed = new Promise((res) => c!.socketOn(FluentSocketEvent.CLOSE, res));
    const p = track(c!.emit('a', { Id: '1' }));
    await r.waitFor(() => r!.heldChunks().length === 1);
    await r.pause();
    await closed;
    await turns();
    assert.equal(p.state(), 'pending');
    clock.tick(60_000);
    await p.done;
    assert.ok(p.error() instanceof FluentError.AckTimeoutError);
  });

  it('client.js:208-215,351-373: with the receiver unreachable, emit() stays pending (no deadline) until shutdown()', async () => {
    r = await startReceiver();
    await r.pause();
    make();
    const errors: unknown[] = [];
    c!.socketOn(FluentSocketEvent.ERROR, (e: unknown) => errors.push(e));
    await c!.connect().catch(() => undefined);
    const p = track(c!.emit('a', { Id: '1' }));
    await turns();
    assert.ok(errors.length >= 1);
    assert.equal(p.state(), 'pending');
    await c!.shutdown();
    await p.done;
    assert.ok(p.error() instanceof FluentError.QueueShutdownError);
  });

  it('auth.js:113-121 + socket.js:226-229: a wrong shared key leaves emit() pending and the socket fatally closed', async () => {
    r = await startReceiver({ sharedKey: 'right-key-1' });
    c = new FluentClient('ev', {
      ack: { ackTimeout: 1000 },
      security: { clientHostname: 'client.test', sharedKey: 'wrong-key-2' },
      socket: { host: '127.0.0.1', port: r.port, disableReconnect: true, timeout: -1 },
    });
    const errors: Error[] = [];
    c.socketOn(FluentSocketEvent.ERROR, (e: Error) => errors.push(e));
    await c.connect();
    const p = track(c.emit('a', { Id: '1' }));
    await r.waitFor(() => r!.stats.authFailures === 1);
    await turns(50);
    assert.ok(errors.some((e) => e instanceof FluentError.AuthError), errors.map((e) => e.name).join());
    assert.equal(p.state(), 'pending');
    await assert.rejects(c.connect(), FluentError.FatalSocketError);
  });

  it('auth.js:90-103 + protocol.js:515-517: a HELO nonce sent as msgpack str (Fluent Bit) is UTF-8-decoded, so the handshake fails', async () => {
    r = await startReceiver({ sharedKey: 'same-key-1', nonceAsStr: true });
    c = new FluentClient('ev', {
      ack: { ackTimeout: 1000 },
      security: { clientHostname: 'client.test', sharedKey: 'same-key-1' },
      socket: { host: '127.0.0.1', port: r.port, disableReconnect: true, timeout: -1 },
    });
    await c.connect();
    const p = track(c.emit('a', { Id: '1' }));
    await r.waitFor(() => r!.stats.authFailures === 1);
    assert.equal(p.state(), 'pending');
  });

  it('socket.js:390-399: the idle socket timeout runs while waiting for an ack; the connection ends and the delivered event is rejected', async () => {
    r = await startReceiver({ mode: 'never-ack' });
    clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    make({ ack: { ackTimeout: 30_000 } }, { timeout: 50 }); // socket idle timeouts are Node-internal timers, not faked
    await c!.connect();
    const idle = new Promise((res) => c!.socketOn(FluentSocketEvent.TIMEOUT, res));
    const p = track(c!.emit('a', { Id: '1' }));
    await idle;
    await r.waitFor(() => r!.openConnections === 0);
    r.releaseHeldAcks(); // too late: the connection is gone
    clock.tick(30_000);
    await p.done;
    assert.ok(p.error() instanceof FluentError.AckTimeoutError);
    assert.equal(r.received, 1, 'the receiver had the event: a retry duplicates it');
  });
});
