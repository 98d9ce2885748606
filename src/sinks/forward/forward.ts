/**
 * The forward sink: delivers batches to Fluentd / Fluent Bit in PackedForward mode and resolves a
 * batch only when the receiver acknowledged every one of its packets, matched by chunk id.
 *
 * Why not fluent-logger or @fluent-org/logger: see docs/forward-delivery-findings.md. In short, the
 * first cannot say "acknowledged" exactly once; the second leaves promises pending forever on an
 * unreachable receiver or a failed handshake, keeps in-flight promises waiting out the ack timeout
 * after a connection loss, merges concurrent batches of one tag into one unbounded packet, and costs
 * a promise and an encoder per event. This layer is small and owns every one of those decisions.
 *
 * Guarantees of send(events):
 * - resolves only after every packet of the batch was acked on the connection it was written to;
 * - rejects (retryable BridgeError) on ack deadline, connection loss, handshake failure or close();
 * - settles exactly once; an ack that arrives after its batch settled is ignored;
 * - never hangs: a deadline (`ackTimeoutMs`) bounds connecting and every wait for an ack; it restarts
 *   when one of the batch's packets is written or acked, and time spent queued behind other batches'
 *   unacked packets on an open connection does not count (their own deadlines bound that wait).
 *   Otherwise a receiver acking each packet well within the timeout still timed batches out (and got
 *   them twice) whenever more packets were queued than the in-flight window holds.
 * No retries and no requeueing here: the caller re-sends a rejected batch.
 *
 * Bounded writes: at most `maxInFlight` batches have packets written and unsettled, so the socket's
 * user-space write buffer holds at most that window. A batch that times out while the connection still
 * has bytes the kernel would not take (a receiver that accepts TCP and stopped reading) ends that
 * connection: otherwise the caller's re-send would be written again behind the unread bytes, and
 * memory would grow with every timeout. The next send reconnects.
 */
import type { BatchEncoder, EncodedBatch, OutEvent, Sink } from '../../contracts';
import { BridgeError } from '../../errors';
import { registerSecret, silentLogger, type Logger } from '../../obs/log';
import { ForwardConnection } from './forward-connection';
import type { Packet } from './forward-protocol';
import { PacketEncoding, sendOnce, type PacketBatch } from './packet-encoding';

export interface ForwardSinkOptions {
  host: string;
  port: number;
  tls?: { caPem?: string; servername?: string; rejectUnauthorized?: boolean };
  sharedKey?: string;
  username?: string;
  password?: string;
  /** Name sent in the handshake's PING; default os.hostname(). Fluentd logs it; in_forward does not compare it with its own. */
  clientHostname?: string;
  /** Deadline of one send() call, from call to last ack. Default 30 000 (Fluentd can take seconds). */
  ackTimeoutMs?: number;
  /** Deadline of connect + handshake. Default min(0.8 × ackTimeoutMs, 10 000). */
  connectTimeoutMs?: number;
  /** Upper bound of one packet's size. Default 4 MiB, below Fluent Bit's 6,144,000-byte buffer_max_size. */
  maxBatchBytes?: number;
  /**
   * Batches (send calls) with packets written and not all acked, at most; more wait their turn.
   * Default 16. A batch's packets (one per tag) go out together: they are encoded already, so holding
   * some back would only cost round trips (with a receiver slow to ack, most of the time).
   */
  maxInFlight?: number;
  logger?: Logger;
}

/** A batch encoded once: its packets are written as they are on every attempt, until released. */
type ForwardEncoded = PacketBatch;

interface Batch {
  enc: ForwardEncoded;
  packets: Packet[];
  next: number; // index of the next packet to write
  unacked: number;
  settled: boolean;
  resolve: () => void;
  reject: (e: BridgeError) => void;
  timer: NodeJS.Timeout;
}

export const DEFAULT_MAX_BATCH_BYTES = 4 * 1024 * 1024;

export class ForwardSink implements Sink {
  private readonly o: Required<Pick<ForwardSinkOptions, 'ackTimeoutMs' | 'connectTimeoutMs' | 'maxBatchBytes' | 'maxInFlight'>> & ForwardSinkOptions;
  private readonly log: Logger;
  private readonly packets: PacketEncoding;
  /** Batches with packets still to write, in send order. */
  private readonly queue: Batch[] = [];
  /** Written, unacked packets of the current connection: chunk id → batch. */
  private readonly inFlight = new Map<string, Batch>();
  /** Batches in the window: a packet written, not settled yet. */
  private active = 0;
  private conn: ForwardConnection | null = null;
  private connecting: Promise<void> | null = null;
  private connectAbort: AbortController | null = null;
  private closed = false;
  /** Acks that matched nothing (late after a deadline, or a wrong chunk id): for tests and metrics. */
  unmatchedAcks = 0;

  constructor(opts: ForwardSinkOptions) {
    const ackTimeoutMs = opts.ackTimeoutMs ?? 30_000;
    this.o = {
      ...opts,
      ackTimeoutMs,
      // Shorter than the batch deadline, so a connection that fails says why (no TLS answer, no HELO)
      // instead of the batch's bare "could not be written in time".
      connectTimeoutMs: opts.connectTimeoutMs ?? Math.min(Math.floor(ackTimeoutMs * 0.8), 10_000),
      maxBatchBytes: opts.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES,
      maxInFlight: Math.max(1, opts.maxInFlight ?? 16),
    };
    registerSecret(opts.sharedKey);
    registerSecret(opts.password);
    this.log = (opts.logger ?? silentLogger).child({ component: 'forward-sink' });
    this.packets = new PacketEncoding(this.o.maxBatchBytes, "raise sink.maxBatchBytes (and the receiver's buffer limit) to deliver such records whole");
  }

  /**
   * Encodes a batch into packets, once. Throws SINK_EVENT_TOO_LARGE (not retryable, `details.index`)
   * when one event alone, encoded, does not fit in a packet.
   */
  encode(events: OutEvent[]): EncodedBatch {
    return this.packets.encode(events);
  }

  /** Encodes a batch event by event (see Sink.encoder): the same packets `encode` makes of the same events. */
  encoder(): BatchEncoder {
    return this.packets.encoder();
  }

  /** Sends an encoded batch (again, after a rejection: same bytes, same chunk ids). */
  deliver(batch: EncodedBatch): Promise<void> {
    const enc = batch as ForwardEncoded;
    if (this.closed) return Promise.reject(new BridgeError('SINK_CLOSED', 'the forward sink is closed; batch not sent', { retryable: true }));
    if (enc.released) return Promise.reject(new BridgeError('INTERNAL', 'a released batch was sent again', { retryable: false }));
    if (enc.packets.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const b: Batch = { enc, packets: enc.packets, next: 0, unacked: enc.packets.length, settled: false, resolve, reject, timer: undefined as unknown as NodeJS.Timeout };
      b.timer = setTimeout(() => this.onDeadline(b), this.o.ackTimeoutMs);
      this.queue.push(b);
      this.pump();
    });
  }

  /** The batch will not be sent again: its pooled buffers go back once the socket is done with them. */
  release(batch: EncodedBatch): void {
    this.packets.release(batch as ForwardEncoded);
  }

  /** encode + deliver + release, for callers that don't re-send (tests, tools). */
  async send(events: OutEvent[]): Promise<void> {
    if (this.closed) throw new BridgeError('SINK_CLOSED', 'the forward sink is closed; batch not sent', { retryable: true });
    await sendOnce(this, events);
  }


  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new BridgeError('SINK_CLOSED', 'the forward sink closed before the receiver acknowledged; the batch will be sent again on restart', { retryable: true });
    for (const b of [...this.queue, ...this.inFlight.values()]) this.settle(b, err);
    this.connectAbort?.abort();
    this.conn?.destroy();
    this.conn = null;
  }

  /** Writes queued packets while the connection is up and the in-flight window has room. */
  private pump(): void {
    if (this.closed || this.queue.length === 0) return;
    const conn = this.conn;
    if (!conn || !conn.isOpen) {
      this.connect();
      return;
    }
    while (this.queue.length > 0) {
      const b = this.queue[0];
      if (b.next === 0) {
        if (this.active >= this.o.maxInFlight) break;
        this.active++;
      }
      const p = b.packets[b.next++];
      // Register before writing: a loopback ack can arrive before write() returns control.
      this.inFlight.set(p.chunk, b);
      // The buffer goes back to the pool once the kernel has the bytes and the batch is released.
      this.packets.writing(b.enc);
      conn.write(p.bytes, () => this.packets.written(b.enc));
      this.arm(b);
      if (b.next === b.packets.length) this.queue.shift();
    }
  }

  private connect(): void {
    if (this.connecting) return;
    this.connectAbort = new AbortController();
    const conn = ForwardConnection.open(
      {
        host: this.o.host,
        port: this.o.port,
        tls: this.o.tls,
        secrets: this.o.sharedKey !== undefined ? { sharedKey: this.o.sharedKey, username: this.o.username, password: this.o.password } : undefined,
        clientHostname: this.o.clientHostname,
        connectTimeoutMs: this.o.connectTimeoutMs,
        signal: this.connectAbort.signal,
      },
      {
        onAck: (chunk) => this.onAck(chunk),
        onClose: (err) => this.onConnectionLost(err),
      },
    );
    this.connecting = conn.then(
      (c) => {
        this.connecting = null;
        if (this.closed) {
          c.destroy();
          return;
        }
        this.conn = c;
        this.connectionsOpened++;
        this.log.info('connected to forward receiver', { host: this.o.host, port: this.o.port });
        this.pump();
      },
      (err: BridgeError) => {
        this.connecting = null;
        // Reject what waits, promptly, so the caller backs off; the next send tries again.
        this.log.warn('forward receiver not reachable', { err });
        for (const b of [...this.queue]) this.settle(b, err);
      },
    );
  }

  private onAck(chunk: string): void {
    const b = this.inFlight.get(chunk);
    if (!b) {
      this.unmatchedAcks++;
      this.log.debug('ack for no pending packet ignored (late or unknown chunk id)');
      return;
    }
    this.inFlight.delete(chunk);
    if (--b.unacked === 0) this.settle(b);
    else this.arm(b);
    this.pump();
  }

  /** Acks come back on the connection a packet was written to: once it is gone, they never will. */
  private onConnectionLost(err: BridgeError): void {
    this.conn = null;
    // Our own close() ends the connection too: that is no news unless something was still unacked.
    if (this.closed && this.inFlight.size === 0) this.log.debug('forward connection closed', { unacked: 0 });
    else this.log.warn('forward connection lost', { err, unacked: this.inFlight.size });
    const batches = new Set(this.inFlight.values());
    for (const b of this.queue) if (b.next > 0) batches.add(b);
    for (const b of batches) this.settle(b, err);
    // Batches not yet started stay queued for a new connection, still under their own deadline.
    this.pump();
  }

  private arm(b: Batch): void {
    clearTimeout(b.timer);
    b.timer = setTimeout(() => this.onDeadline(b), this.o.ackTimeoutMs);
  }

  /** Bytes held for the receiver: unwritten packets of queued batches plus the socket's unflushed writes. */
  get bufferedBytes(): number {
    let n = this.conn?.pendingBytes ?? 0;
    for (const b of this.queue) for (let k = b.next; k < b.packets.length; k++) n += b.packets[k].bytes.length;
    return n;
  }

  /** Connections opened so far (a stalled receiver shows up as reconnects): for tests and metrics. */
  connectionsOpened = 0;

  /** Whether a connection is up (packets are written at once while the window has room). */
  get connected(): boolean {
    return this.conn?.isOpen ?? false;
  }

  private onDeadline(b: Batch): void {
    if (b.settled) return;
    const conn = this.conn;
    if (b.next > 0 && conn?.isOpen && conn.pendingBytes > 0) {
      // The receiver stopped reading: everything in flight on this connection is lost with it.
      const err = new BridgeError('SINK_ACK_TIMEOUT', `the forward receiver did not acknowledge within ${this.o.ackTimeoutMs} ms and stopped reading (${conn.pendingBytes} bytes unread); reconnecting, the batch will be sent again (check the receiver's buffers and logs)`, { retryable: true, details: { host: this.o.host, port: this.o.port } });
      this.log.warn('forward receiver stopped reading; dropping the connection', { unread: conn.pendingBytes, unacked: this.inFlight.size });
      conn.destroy(true);
      this.onConnectionLost(err);
      return;
    }
    // Nothing of this batch awaits an ack: it only waits for room behind other batches' packets.
    if (b.unacked === b.packets.length - b.next && this.conn?.isOpen && this.active >= this.o.maxInFlight) {
      this.arm(b);
      return;
    }
    // Written, or waiting behind the window of an open connection: the receiver is slow to ack.
    const written = b.next > 0 || (this.conn?.isOpen ?? false);
    this.settle(
      b,
      written
        ? new BridgeError('SINK_ACK_TIMEOUT', `the forward receiver did not acknowledge within ${this.o.ackTimeoutMs} ms; the batch will be sent again (check the receiver's buffers and logs)`, { retryable: true, details: { host: this.o.host, port: this.o.port } })
        : new BridgeError('SINK_UNREACHABLE', `the batch could not be written to the forward receiver within ${this.o.ackTimeoutMs} ms`, { retryable: true, details: { host: this.o.host, port: this.o.port } }),
    );
  }

  /** The only place a batch settles: once, dropping its pending chunk ids so late acks match nothing. */
  private settle(b: Batch, err?: BridgeError): void {
    if (b.settled) return;
    b.settled = true;
    if (b.next > 0) this.active--;
    clearTimeout(b.timer);
    const i = this.queue.indexOf(b);
    if (i >= 0) this.queue.splice(i, 1);
    if (b.unacked > 0) {
      for (let k = 0; k < b.next; k++) this.inFlight.delete(b.packets[k].chunk);
    }
    b.packets = [];
    if (err) b.reject(err);
    else b.resolve();
    if (err && !this.closed) queueMicrotask(() => this.pump());
  }
}

export function createForwardSink(opts: ForwardSinkOptions): ForwardSink {
  return new ForwardSink(opts);
}

/** What encode throws: SINK_EVENT_TOO_LARGE naming the event (`details.index`: its place in `events`, or `index`). */
