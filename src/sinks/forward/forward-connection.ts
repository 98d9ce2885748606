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
  /** Name sent in PING; must differ from the receiver's own self_hostname. */
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

const TLS_AUTH_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|HOSTNAME|ERR_TLS_CERT|ALTNAME|UNABLE_TO_GET_ISSUER/;

export class ForwardConnection {
  private closed = false;
  private established = false;
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
      let phase: 'connect' | 'helo' | 'pong' | 'ready' = 'connect';
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
            : new BridgeError('SINK_AUTH', `the forward receiver did not complete the shared-key handshake within ${o.connectTimeoutMs} ms; check that it has <security> with the same shared_key`, { retryable: true, details: where }),
        );
      }, o.connectTimeoutMs);

      o.signal?.addEventListener('abort', () => fail(new BridgeError('SINK_CLOSED', 'the forward sink closed while connecting', { retryable: true, details: where })), { once: true });
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 30_000);
      socket.once(o.tls ? 'secureConnect' : 'connect', () => {
        if (o.secrets) phase = 'helo';
        else ready();
      });
      socket.on('data', (chunk: Buffer) => {
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
                fail(new BridgeError('SINK_AUTH', `the forward receiver refused the handshake (${m.reason.slice(0, 120)}); check sink.sharedKey, username and password`, { retryable: true, details: where }));
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
        if (o.tls && TLS_AUTH_CODES.test(code)) {
          fail(new BridgeError('SINK_AUTH', `TLS verification of the forward receiver failed (${code}); check sink.tls.caFile and servername`, { retryable: true, details: { ...where, cause: code } }));
        } else {
          fail(new BridgeError('SINK_UNREACHABLE', `forward receiver connection failed (${code}); check that it runs and accepts connections`, { retryable: true, details: { ...where, cause: code } }));
        }
      });
      socket.on('close', () => {
        const during = phase === 'pong'
          ? new BridgeError('SINK_AUTH', 'the forward receiver closed the connection during the shared-key handshake; check sink.sharedKey, username and password', { retryable: true, details: where })
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

  /** Ends the connection without reporting (the owner already knows). */
  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private fail(err: BridgeError): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    if (this.established) this.events.onClose(err);
  }
}
