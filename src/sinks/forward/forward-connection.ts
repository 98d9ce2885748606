/**
 * One TCP or TLS connection to a forward receiver: connect, optional shared-key handshake, then
 * packets out and acks in. It knows nothing about batches; the sink matches acks by chunk id.
 * Any failure ends the connection for good (the sink opens a new one on its next send), and is
 * reported once through `onClose` with a BridgeError the sink hands to the batches in flight.
 */
import * as net from 'node:net';
import * as os from 'node:os';
import * as tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { BridgeError } from '../../errors';
import { buildPing, parseServerMessage, pongDigestValid, type HandshakeSecrets } from './forward-protocol';
import { MsgpackFrameReader } from './msgpack-frames';

export interface ConnectionOptions {
  host: string;
  port: number;
  tls?: { caPem?: string; servername?: string; rejectUnauthorized?: boolean };
  secrets?: HandshakeSecrets;
  /** Name sent in PING (Fluentd logs it; in_forward does not compare it with its own self_hostname). */
  clientHostname?: string;
  /** Bound on TCP/TLS connect plus handshake. */
  connectTimeoutMs: number;
  /** Aborting gives up a connection attempt at once (sink closing). */
  signal?: AbortSignal;
}

export interface ConnectionEvents {
  onAck(chunk: string): void;
  /** Called once, when the connection is gone after having been established. */
  onClose(err: BridgeError): void;
}

/** Server messages are acks and handshake replies: small. Anything bigger is not a forward receiver. */
const MAX_SERVER_MESSAGE = 64 * 1024;

/** The receiver's certificate does not name the host we asked for. */
const TLS_NAME_CODES = /ALTNAME|HOSTNAME/;
/** The receiver's certificate does not chain to a CA we trust (or is expired, revoked, malformed). */
const TLS_TRUST_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/;
/** How long a TLS close waits for the receiver's answer to our close_notify before dropping the socket. */
const TLS_CLOSE_GRACE_MS = 2_000;

/**
 * Mismatch messages: one side speaks TLS and the other does not. Neither receiver says so: Fluentd
 * reads a ClientHello as broken msgpack and waits; Fluent Bit resets; a TLS receiver resets a plain
 * packet without a byte of reply, and waits silently for a ClientHello that never comes.
 */
export const TLS_TO_PLAIN_HINT =
  "the forward receiver accepted TCP but did not answer the TLS handshake: it does not seem to speak TLS. sink.tls.enabled is true: add <transport tls> to the receiver's forward input (Fluent Bit: tls on), or set sink.tls.enabled: false";
export const PLAIN_TO_TLS_HINT =
  "the forward receiver reset the connection without a byte of reply: it may expect TLS. sink.tls.enabled is false: if the receiver's forward input has <transport tls> (Fluent Bit: tls on), set sink.tls.enabled: true";

export class ForwardConnection {
  private closed = false;
  private established = false;
  /** Bytes received on this connection: none before a reset points to a TLS/plain mismatch. */
  private bytesIn = 0;
  private constructor(
    private readonly socket: net.Socket,
    private readonly events: ConnectionEvents,
  ) {}

  /** Resolves once packets may be written; rejects with SINK_UNREACHABLE or SINK_AUTH. */
  static open(o: ConnectionOptions, events: ConnectionEvents): Promise<ForwardConnection> {
    return new Promise((resolve, reject) => {
      const where = { host: o.host, port: o.port };
      const socket: net.Socket = o.tls
        ? tls.connect({
            host: o.host,
            port: o.port,
            ca: o.tls.caPem ? [...tls.rootCertificates, o.tls.caPem] : undefined,
            servername: o.tls.servername ?? (net.isIP(o.host) ? undefined : o.host),
            rejectUnauthorized: o.tls.rejectUnauthorized ?? true,
          })
        : net.connect({ host: o.host, port: o.port });
      const conn = new ForwardConnection(socket, events);
      const reader = new MsgpackFrameReader(MAX_SERVER_MESSAGE);
      // 'tls': TCP is up, the TLS handshake is not done yet.
      let phase: 'connect' | 'tls' | 'helo' | 'pong' | 'ready' = 'connect';
      let settled = false;
      const salt = randomBytes(16).toString('hex');
      let nonce: Buffer = Buffer.alloc(0);
      const hostname = o.clientHostname ?? os.hostname();

      const fail = (err: BridgeError): void => {
        if (settled) {
          conn.fail(err);
          return;
        }
        settled = true;
        clearTimeout(timer);
        conn.closed = true;
        socket.destroy();
        reject(err);
      };
      const ready = (): void => {
        phase = 'ready';
        settled = true;
        clearTimeout(timer);
        conn.established = true;
        resolve(conn);
      };
      const timer = setTimeout(() => {
        fail(
          phase === 'connect'
            ? new BridgeError('SINK_UNREACHABLE', `no connection to the forward receiver within ${o.connectTimeoutMs} ms; check sink host/port and that the receiver runs`, { retryable: true, details: where })
            : phase === 'tls'
              ? new BridgeError('SINK_AUTH', `${TLS_TO_PLAIN_HINT} (no answer within ${o.connectTimeoutMs} ms)`, { retryable: true, details: where })
              : phase === 'helo' && !o.tls
                ? new BridgeError('SINK_AUTH', `the forward receiver sent no shared-key greeting (HELO) within ${o.connectTimeoutMs} ms: sink.sharedKey is set, so check that its forward input has <security> with the same shared_key; if it has <transport tls> instead (Fluent Bit: tls on), set sink.tls.enabled: true`, { retryable: true, details: where })
                : new BridgeError('SINK_AUTH', `the forward receiver did not complete the shared-key handshake within ${o.connectTimeoutMs} ms; check that it has <security> with the same shared_key as sink.sharedKey`, { retryable: true, details: where }),
        );
      }, o.connectTimeoutMs);

      o.signal?.addEventListener('abort', () => fail(new BridgeError('SINK_CLOSED', 'the forward sink closed while connecting', { retryable: true, details: where })), { once: true });
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 30_000);
      if (o.tls) socket.once('connect', () => (phase = 'tls'));
      socket.once(o.tls ? 'secureConnect' : 'connect', () => {
        if (o.secrets) phase = 'helo';
        else ready();
      });
      socket.on('data', (chunk: Buffer) => {
        conn.bytesIn += chunk.length;
        try {
          reader.push(chunk, (frame) => {
            if (conn.closed) return;
            const m = parseServerMessage(frame);
            if (phase === 'ready') {
              if (m.kind === 'ack') events.onAck(m.chunk);
              else if (m.kind === 'helo') fail(new BridgeError('SINK_AUTH', 'the forward receiver requires a shared key; set sink.sharedKey', { retryable: true, details: where }));
              else fail(new BridgeError('SINK_UNREACHABLE', 'unexpected message from the forward receiver; check that host/port is a forward input', { retryable: true, details: where }));
            } else if (phase === 'helo' && m.kind === 'helo') {
              nonce = m.nonce;
              phase = 'pong';
              socket.write(buildPing(m, hostname, salt, o.secrets!));
            } else if (phase === 'pong' && m.kind === 'pong') {
              if (!m.ok) {
                // The reason is the receiver's own text (e.g. "shared_key mismatch"); it holds no secret.
                fail(new BridgeError('SINK_AUTH', refusalMessage(m.reason, o.secrets!), { retryable: true, details: where }));
              } else if (!pongDigestValid(m, nonce, salt, o.secrets!.sharedKey)) {
                fail(new BridgeError('SINK_AUTH', "the forward receiver's shared key differs from sink.sharedKey", { retryable: true, details: where }));
              } else ready();
            } else {
              fail(new BridgeError(phase === 'connect' ? 'SINK_UNREACHABLE' : 'SINK_AUTH', `unexpected message from the forward receiver during the ${phase === 'connect' ? 'connection' : 'handshake'}; check sink settings against the receiver's`, { retryable: true, details: where }));
            }
          });
        } catch {
          fail(new BridgeError('SINK_UNREACHABLE', 'undecodable data from the forward receiver; check that host/port is a forward input', { retryable: true, details: where }));
        }
      });
      socket.on('error', (err: NodeJS.ErrnoException) => {
        const code = err.code ?? 'ERROR';
        const details = { ...where, cause: code };
        if (o.tls && TLS_NAME_CODES.test(code)) {
          const name = o.tls.servername ?? o.host;
          fail(new BridgeError('SINK_AUTH', `the forward receiver's TLS certificate is not valid for "${name}" (${code}); set sink.tls.servername to a name its certificate holds, or give the receiver a certificate for that name`, { retryable: true, details }));
        } else if (o.tls && TLS_TRUST_CODES.test(code)) {
          fail(new BridgeError('SINK_AUTH', `the forward receiver's TLS certificate is not signed by a CA the bridge trusts (${code}); set sink.tls.caFile to the CA certificate that signed it`, { retryable: true, details }));
        } else if (o.tls && (phase === 'tls' || /WRONG_VERSION|UNKNOWN_PROTOCOL|PACKET_LENGTH/.test(code))) {
          fail(new BridgeError('SINK_AUTH', `${TLS_TO_PLAIN_HINT} (${code})`, { retryable: true, details }));
        } else if (!o.tls && code === 'ECONNRESET' && conn.bytesIn === 0 && (phase === 'ready' || phase === 'helo')) {
          fail(new BridgeError('SINK_UNREACHABLE', `${PLAIN_TO_TLS_HINT} (${code})`, { retryable: true, details }));
        } else {
          fail(new BridgeError('SINK_UNREACHABLE', `forward receiver connection failed (${code}); check that it runs and accepts connections`, { retryable: true, details }));
        }
      });
      socket.on('close', () => {
        // Fluent Bit answers a wrong shared key by closing, without a PONG saying so.
        const during = phase === 'pong'
          ? new BridgeError('SINK_AUTH', o.secrets?.username === undefined
              ? 'the forward receiver closed the connection during the shared-key handshake (Fluent Bit does so on a wrong key): sink.sharedKey must equal its shared_key'
              : 'the forward receiver closed the connection during the shared-key handshake; check sink.sharedKey (its <security> shared_key), and sink.username / sink.password (its <user>)', { retryable: true, details: where })
          : phase === 'tls'
            ? new BridgeError('SINK_AUTH', TLS_TO_PLAIN_HINT, { retryable: true, details: where })
            : new BridgeError('SINK_UNREACHABLE', 'the forward receiver closed the connection before acknowledging', { retryable: true, details: where });
        fail(during);
      });
    });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Writes one packet; false when the kernel buffer is full (the sink bounds in-flight packets anyway). */
  write(bytes: Buffer, done?: () => void): boolean {
    return this.socket.write(bytes, done);
  }

  /** Bytes written but not yet taken by the kernel: grows only while the receiver is not reading. */
  get pendingBytes(): number {
    return this.socket.writableLength;
  }

  /**
   * Ends the connection without reporting (the owner already knows). `hard`: drop it at once, for a
   * receiver that stopped reading (a TLS close_notify would only queue behind what it never read).
   */
  destroy(hard = false): void {
    this.closed = true;
    if (hard) this.socket.destroy();
    else this.shutdown();
  }

  private fail(err: BridgeError): void {
    if (this.closed) return;
    this.closed = true;
    this.shutdown();
    if (this.established) this.events.onClose(err);
  }

  /**
   * A TLS session ends with close_notify, then the socket: `end()` sends close_notify and FIN after
   * what is still buffered; the receiver answers and closes. Only if it does not within a grace period
   * is the socket dropped. (A bare destroy() made Fluentd warn "SSL_read: unexpected eof" at every
   * exit and reconnect.) A plain socket, or one already broken, is just destroyed.
   */
  private shutdown(): void {
    const s = this.socket;
    if (s instanceof tls.TLSSocket && this.established && !s.destroyed && s.writable) {
      s.end();
      const t = setTimeout(() => s.destroy(), TLS_CLOSE_GRACE_MS);
      t.unref();
      s.once('close', () => clearTimeout(t));
      return;
    }
    s.destroy();
  }
}

/**
 * Which setting a refused handshake points to. Fluentd's PONG says "shared_key mismatch" or
 * "username/password mismatch"; anything else is named as the receiver sent it.
 */
export function refusalMessage(reason: string, secrets: HandshakeSecrets): string {
  const r = reason.slice(0, 120);
  if (/user|password/i.test(r)) {
    return secrets.username === undefined
      ? `the forward receiver requires a user name and password (${r}); set sink.username and sink.password (its <user> section)`
      : `the forward receiver refused user "${secrets.username}" (${r}); check sink.username and sink.password against its <user> section`;
  }
  if (/shared.?key/i.test(r)) return `the forward receiver refused the shared key (${r}); sink.sharedKey must equal its <security> shared_key`;
  return `the forward receiver refused the handshake (${r}); check sink.sharedKey (its <security> shared_key), sink.username and sink.password (its <user>)`;
}
