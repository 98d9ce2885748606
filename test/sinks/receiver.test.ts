/**
 * The test receiver itself, driven by clients that are not ours (@fluent-org/logger's FluentClient,
 * raw sockets), so its reading of the spec is checked independently of the sink.
 */
import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { encode } from '@msgpack/msgpack';
import { EventTime, FluentClient, FluentSocketEvent } from '@fluent-org/logger';
import { startReceiver, type Receiver } from '../support/receiver';

type Mode = 'Message' | 'Forward' | 'PackedForward' | 'CompressedPackedForward';

/** disableReconnect leaves no timers behind; connect() must then be called explicitly. */
function client(port: number, eventMode: Mode, sharedKey?: string): FluentClient {
  return new FluentClient('bridge', {
    eventMode,
    socket: { host: '127.0.0.1', port, disableReconnect: true, timeout: -1 },
    ack: { ackTimeout: 10_000 },
    security: sharedKey ? { clientHostname: 'client.test', sharedKey } : undefined,
  });
}

describe('test receiver', () => {
  let r: Receiver | undefined;
  afterEach(async () => {
    await r?.stop();
    r = undefined;
  });

  for (const mode of ['Message', 'Forward', 'PackedForward', 'CompressedPackedForward'] as const) {
    it(`reads ${mode} mode and acks option.chunk (with the shared-key handshake)`, async () => {
      r = await startReceiver({ sharedKey: 'k-secret-123' });
      const c = client(r.port, mode, 'k-secret-123');
      await c.connect();
      await Promise.all([
        c.emit('one', { Id: 'a' }, new EventTime(1_700_000_000, 42)),
        c.emit('one', { Id: 'b' }, new EventTime(1_700_000_001, 0)),
        c.emit('two', { Id: 'c' }, new EventTime(1_700_000_002, 1)),
      ]);
      await c.shutdown();
      assert.deepEqual([...r.ackedIds()].sort(), ['a', 'b', 'c']);
      assert.deepEqual(Object.fromEntries(r.countByTag()), { 'bridge.one': 2, 'bridge.two': 1 });
      assert.deepEqual(r.events.find((e) => e.record.Id === 'a')!.time, { sec: 1_700_000_000, nsec: 42 });
      assert.ok(r.packets.every((p) => p.mode === mode && p.acked));
    });
  }

  it('accepts integer times, and entries sent as msgpack str (as Fluentd out_forward does)', async () => {
    r = await startReceiver();
    const entries = Buffer.from(encode([1_700_000_000, { Id: 'x' }]));
    // [tag, str(entries), option]: a str 8 header around the raw entry bytes
    const msg = Buffer.concat([Buffer.from([0x93, 0xa1, 0x74, 0xd9, entries.length]), entries, Buffer.from(encode({ chunk: 'c1' }))]);
    const s = net.connect(r.port, '127.0.0.1');
    s.write(msg);
    const reply = await new Promise<Buffer>((res) => s.once('data', res));
    s.destroy();
    assert.deepEqual(r.events, [{ tag: 't', time: { sec: 1_700_000_000, nsec: 0 }, record: { Id: 'x' } }]);
    assert.deepEqual(reply, Buffer.from(encode({ ack: 'c1' })));
  });

  it("refuses a float time like Fluentd: closes the connection, no ack", async () => {
    r = await startReceiver();
    const s = net.connect(r.port, '127.0.0.1');
    s.write(Buffer.from(encode(['t', 1.5, { Id: 'x' }, { chunk: 'c' }])));
    await new Promise((res) => s.once('close', res));
    assert.equal(r.stats.protocolErrors, 1);
    assert.equal(r.acked, 0);
  });

  it("counts without storing in store 'count', keeps only ids in store 'ids'", async () => {
    for (const store of ['count', 'ids'] as const) {
      const rr = await startReceiver({ store });
      const c = client(rr.port, 'PackedForward');
      await c.connect();
      await Promise.all([c.emit('t', { Id: '1' }), c.emit('t', { Id: '2' })]);
      await c.shutdown();
      assert.equal(rr.received, 2);
      assert.equal(rr.events.length, 0);
      assert.equal(rr.ids().size, store === 'ids' ? 2 : 0);
      await rr.stop();
    }
  });

  it('pause() drops connections and stops listening; resume() listens on the same port', async () => {
    r = await startReceiver();
    const port = r.port;
    const s = net.connect(port, '127.0.0.1');
    await r.waitFor(() => r!.openConnections === 1);
    await r.pause();
    await new Promise((res) => s.once('close', res));
    const refused = net.connect(port, '127.0.0.1');
    const err = await new Promise<NodeJS.ErrnoException>((res) => refused.once('error', res));
    assert.equal(err.code, 'ECONNREFUSED');
    await r.resume();
    assert.equal(r.port, port);
    const again = net.connect(port, '127.0.0.1');
    await r.waitFor(() => r!.connections === 2);
    again.destroy();
  });

  it("refuses a wrong shared key with PONG false, then closes", async () => {
    r = await startReceiver({ sharedKey: 'right-key-1' });
    const c = client(r.port, 'PackedForward', 'wrong-key-2');
    const errors: unknown[] = [];
    c.socketOn(FluentSocketEvent.ERROR, (e: unknown) => errors.push(e));
    await c.connect();
    await r.waitFor(() => r!.stats.authFailures === 1);
    await c.shutdown();
    assert.equal(r.acked, 0);
  });
});
