/**
 * TLS details of the forward connection against loopback servers: the session ends with close_notify
 * before the socket (Fluentd warned "SSL_read: unexpected eof" at every exit otherwise), and each
 * TLS/plain or certificate mismatch says which setting to fix, in words of its own.
 */
import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { isBridgeError } from '../../src/errors';
import { refusalMessage } from '../../src/sinks/forward/forward-connection';
import { createForwardSink, type ForwardSink, type ForwardSinkOptions } from '../../src/sinks/forward/forward';
import { startReceiver, type Receiver } from '../support/receiver';
import { makeTestCert } from '../support/receiver-tls';

const ev = { tag: 'o365.audit.general', time: { sec: 1_700_000_000, nsec: 5 }, record: { Id: 'a' } };

async function failure(o: ForwardSinkOptions): Promise<{ code: string; message: string }> {
  const sink = createForwardSink(o);
  try {
    await sink.send([ev]);
  } catch (e) {
    assert.ok(isBridgeError(e), String(e));
    return { code: e.code, message: e.message };
  } finally {
    await sink.close();
  }
  throw new Error('send resolved');
}

describe('forward connection: TLS', () => {
  let receiver: Receiver | undefined;
  afterEach(async () => {
    await receiver?.stop();
    receiver = undefined;
  });

  it('ends the TLS session with close_notify, then the socket', async () => {
    // TLS 1.2, so the record type of what the client sends last is visible on the wire (21 = alert).
    const cert = makeTestCert();
    const server = tls.createServer({ key: cert.key, cert: cert.cert, maxVersion: 'TLSv1.2' }, (s) => {
      s.on('data', () => undefined);
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const chunks: Buffer[] = [];
    let closed!: () => void;
    const upstreamClosed = new Promise<void>((r) => (closed = r));
    // A TCP relay in front of it records the client's bytes.
    const relay = net.createServer((c) => {
      const up = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
      c.on('data', (d: Buffer) => {
        chunks.push(d);
        up.write(d);
      });
      up.on('data', (d) => c.write(d));
      c.on('end', () => up.end());
      c.on('close', () => closed());
      c.on('error', () => undefined);
      up.on('error', () => undefined);
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    let sink: ForwardSink | undefined;
    try {
      sink = createForwardSink({ host: '127.0.0.1', port: (relay.address() as net.AddressInfo).port, tls: { caPem: cert.caPem }, ackTimeoutMs: 5000 });
      const sent = sink.send([ev]).catch(() => undefined); // never acked: the server is not a forward receiver
      await new Promise<void>((r) => setTimeout(r, 200));
      await sink.close();
      await sent;
      await upstreamClosed;
    } finally {
      relay.close();
      server.close();
    }
    const stream = Buffer.concat(chunks);
    const types: number[] = [];
    for (let i = 0; i + 5 <= stream.length; i += 5 + stream.readUInt16BE(i + 3)) types.push(stream[i]);
    assert.ok(types.includes(23), `no application data was sent (${types.join(',')})`);
    assert.equal(types[types.length - 1], 21, `the last TLS record the client sent is ${types[types.length - 1]}, not an alert (close_notify)`);
  });

  it('TLS to a plain receiver: names sink.tls.enabled and <transport tls>', async () => {
    receiver = await startReceiver({});
    const f = await failure({ host: '127.0.0.1', port: receiver.port, tls: {}, ackTimeoutMs: 5000 });
    assert.equal(f.code, 'SINK_AUTH', f.message);
    assert.match(f.message, /does not seem to speak TLS/);
    assert.match(f.message, /sink\.tls\.enabled/);
    assert.match(f.message, /<transport tls>/);
  });

  it('a CA that did not sign the certificate names sink.tls.caFile; a name it does not hold names sink.tls.servername', async () => {
    const cert = makeTestCert('receiver.test', ['receiver.test']);
    receiver = await startReceiver({ tls: { key: cert.key, cert: cert.cert } });
    const ca = await failure({ host: '127.0.0.1', port: receiver.port, tls: { caPem: makeTestCert('other.test').caPem, servername: 'receiver.test' }, ackTimeoutMs: 5000 });
    assert.equal(ca.code, 'SINK_AUTH');
    assert.match(ca.message, /sink\.tls\.caFile/);
    assert.doesNotMatch(ca.message, /servername/);
    const name = await failure({ host: '127.0.0.1', port: receiver.port, tls: { caPem: cert.caPem, servername: 'elsewhere.test' }, ackTimeoutMs: 5000 });
    assert.equal(name.code, 'SINK_AUTH');
    assert.match(name.message, /sink\.tls\.servername/);
    assert.match(name.message, /"elsewhere\.test"/);
    assert.doesNotMatch(name.message, /caFile/);
  });

  it("a refused handshake names the setting the receiver's reason points to", () => {
    assert.match(refusalMessage('shared_key mismatch', { sharedKey: 'k' }), /sink\.sharedKey must equal its <security> shared_key/);
    const pw = refusalMessage('username/password mismatch', { sharedKey: 'k', username: 'u', password: 'p' });
    assert.match(pw, /sink\.username and sink\.password/);
    assert.doesNotMatch(pw, /sharedKey/);
    assert.match(refusalMessage('username/password mismatch', { sharedKey: 'k' }), /set sink\.username and sink\.password/);
    assert.match(refusalMessage('something else', { sharedKey: 'k' }), /something else.*sink\.sharedKey/);
  });
});
