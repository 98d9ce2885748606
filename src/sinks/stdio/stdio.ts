/**
 * The stdio sink: the forward protocol over the process's own standard streams, for a parent that
 * runs the bridge as its child (the Fluentd input plugin in fluent-plugin/). PackedForward packets
 * with `option.chunk` go to stdout (built by the forward sink's PacketBuilder: the same bytes a
 * forward receiver gets); the parent answers `{"ack": chunk}` msgpack maps on stdin once the events
 * are in its router, exactly as Fluentd's in_forward does on a socket. A batch resolves only when
 * every one of its packets was acked, so the checkpoint moves only on acks, as with forward.
 *
 * Standard input ending (or stdout failing, EPIPE) means the parent is gone: nothing can be acked
 * any more, so every pending batch is rejected and `onPeerGone` fires (the bridge then stops: no
 * orphan survives a kill -9 of Fluentd). Logs never come here: they go to stderr as JSON lines.
 *
 * Bounds: at most `maxInFlight` batches written and unacked (more wait their turn), each at most
 * maxBatchBytes per packet; that is also the most the pipe's user-space buffer can hold.
 */
import type { BatchEncoder, EncodedBatch, OutEvent, Sink } from '../../contracts';
import { BridgeError } from '../../errors';
import { silentLogger, type Logger } from '../../obs/log';
import { parseServerMessage } from '../forward/forward-protocol';
import { PacketEncoding, sendOnce, type PacketBatch } from '../forward/packet-encoding';
import { MsgpackFrameReader } from '../forward/msgpack-frames';
import { DEFAULT_MAX_BATCH_BYTES } from '../forward/forward';

export interface StdioSinkOptions {
  /** Where packets go; default process.stdout. */
  out?: NodeJS.WritableStream;
  /** Where acks come from; default process.stdin. */
  in?: NodeJS.ReadableStream;
  /** Deadline of one send(), restarted on each of its packets' acks. Default 30 000. */
  ackTimeoutMs?: number;
  /** Upper bound of one packet's size. Default 4 MiB. */
  maxBatchBytes?: number;
  /** Batches written and not all acked, at most. Default 16. */
  maxInFlight?: number;
  logger?: Logger;
  /** Called once when the parent is gone (stdin ended, stdout broken, or undecodable acks). */
  onPeerGone?: (err: BridgeError) => void;
}

type StdioEncoded = PacketBatch;

interface Attempt {
  enc: StdioEncoded;
  unacked: number;
  written: boolean;
  settled: boolean;
  resolve: () => void;
  reject: (e: BridgeError) => void;
  timer?: NodeJS.Timeout;
}

/** Acks are a few dozen bytes: anything longer is not our parent speaking. */
const MAX_ACK_MESSAGE = 64 * 1024;

export class StdioSink implements Sink {
  private readonly out: NodeJS.WritableStream;
  private readonly input: NodeJS.ReadableStream;
  private readonly ackTimeoutMs: number;
  private readonly maxInFlight: number;
  private readonly packets: PacketEncoding;
  private readonly log: Logger;
  private readonly reader = new MsgpackFrameReader(MAX_ACK_MESSAGE);
  /** Attempts not written yet, in order (bounded by the caller's in-flight window). */
  private readonly queue: Attempt[] = [];
  /** Written, unacked packets: chunk id → attempt. */
  private readonly inFlight = new Map<string, Attempt>();
  private active = 0;
  private closed = false;
  /** Set once the parent is gone: every later delivery fails with it. */
  private gone: BridgeError | null = null;
  /** Acks that matched nothing (late after a deadline, or unknown): for tests and metrics. */
  unmatchedAcks = 0;
  private readonly onData = (chunk: Buffer | string): void => this.feed(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk);
  private readonly onEnd = (): void => this.peerGone(new BridgeError('SINK_UNREACHABLE', 'the parent process closed standard input (Fluentd stopped or died); stopping', { retryable: true }));
  private readonly onOutError = (e: NodeJS.ErrnoException): void =>
    this.peerGone(new BridgeError('SINK_UNREACHABLE', `standard output failed (${e.code ?? e.message}); the parent process is gone`, { retryable: true }));

  constructor(private readonly o: StdioSinkOptions = {}) {
    this.out = o.out ?? process.stdout;
    this.input = o.in ?? process.stdin;
    this.ackTimeoutMs = o.ackTimeoutMs ?? 30_000;
    this.maxInFlight = Math.max(1, o.maxInFlight ?? 16);
    this.packets = new PacketEncoding(o.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES, 'raise sink.maxBatchBytes to deliver such records whole');
    this.log = (o.logger ?? silentLogger).child({ component: 'stdio-sink' });
    if (this.out === process.stdout && process.stdout.isTTY) {
      this.log.warn('the stdio sink writes binary forward-protocol packets to standard output: it is meant to be run by the Fluentd plugin (fluent-plugin/), not on a terminal');
    }
    this.input.on('data', this.onData);
    this.input.on('end', this.onEnd);
    this.input.on('close', this.onEnd);
    this.input.on('error', this.onEnd);
    this.out.on('error', this.onOutError);
    this.input.resume?.();
  }

  /** Encodes a batch into packets, once. Throws SINK_EVENT_TOO_LARGE (not retryable, `details.index`). */
  encode(events: OutEvent[]): EncodedBatch {
    return this.packets.encode(events);
  }

  /**
   * Encodes a batch event by event (see Sink.encoder), as the forward sink does: a parsed record is
   * dropped once added instead of waiting for the batch to be full (issue 17: plugin mode held them).
   */
  encoder(): BatchEncoder {
    return this.packets.encoder();
  }

  /** Writes an encoded batch (again, after a rejection: same bytes, same chunk ids); resolves when all its packets are acked. */
  deliver(batch: EncodedBatch): Promise<void> {
    const enc = batch as StdioEncoded;
    if (this.gone) return Promise.reject(this.gone);
    if (this.closed) return Promise.reject(new BridgeError('SINK_CLOSED', 'the stdio sink is closed; batch not sent', { retryable: true }));
    if (enc.released) return Promise.reject(new BridgeError('INTERNAL', 'a released batch was sent again', { retryable: false }));
    if (enc.packets.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ enc, unacked: enc.packets.length, written: false, settled: false, resolve, reject });
      this.pump();
    });
  }

  /** The batch will not be sent again: its pooled buffers go back once the pipe is done with them. */
  release(batch: EncodedBatch): void {
    this.packets.release(batch as StdioEncoded);
  }

  /** encode + deliver + release, for callers that don't re-send (tests, tools). */
  async send(events: OutEvent[]): Promise<void> {
    if (this.gone) throw this.gone;
    if (this.closed) throw new BridgeError('SINK_CLOSED', 'the stdio sink is closed; batch not sent', { retryable: true });
    await sendOnce(this, events);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new BridgeError('SINK_CLOSED', 'the stdio sink closed before the parent acknowledged; the batch will be sent again on restart', { retryable: true });
    this.settleAll(err);
    this.detach();
  }

  private pump(): void {
    while (!this.gone && !this.closed && this.queue.length > 0 && this.active < this.maxInFlight) {
      const a = this.queue.shift()!;
      a.written = true;
      this.active++;
      for (const p of a.enc.packets) {
        // Register before writing: the ack can come back before write() returns.
        this.inFlight.set(p.chunk, a);
        this.packets.writing(a.enc);
        this.out.write(p.bytes, () => this.packets.written(a.enc));
      }
      this.arm(a);
    }
  }


  private feed(chunk: Buffer): void {
    if (this.gone) return;
    try {
      this.reader.push(chunk, (frame) => {
        const m = parseServerMessage(frame);
        if (m.kind === 'ack') this.onAck(m.chunk);
        else this.log.debug('message on standard input that is not an ack ignored');
      });
    } catch {
      // A msgpack stream cannot be resynchronised: whoever writes this is not the plugin.
      this.peerGone(new BridgeError('SINK_UNREACHABLE', 'undecodable data on standard input; the stdio sink expects forward-protocol acks from the Fluentd plugin', { retryable: true }));
    }
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
  }

  private arm(b: Attempt): void {
    clearTimeout(b.timer);
    b.timer = setTimeout(() => {
      this.settle(b, new BridgeError('SINK_ACK_TIMEOUT', `the Fluentd plugin did not acknowledge within ${this.ackTimeoutMs} ms (a full buffer refuses events); the batch will be sent again`, { retryable: true }));
    }, this.ackTimeoutMs);
  }

  /** The only place an attempt settles: once, dropping its pending chunk ids so late acks match nothing. */
  private settle(b: Attempt, err?: BridgeError): void {
    if (b.settled) return;
    b.settled = true;
    clearTimeout(b.timer);
    if (b.written) {
      this.active--;
      if (b.unacked > 0) for (const p of b.enc.packets) if (this.inFlight.get(p.chunk) === b) this.inFlight.delete(p.chunk);
    } else {
      const i = this.queue.indexOf(b);
      if (i >= 0) this.queue.splice(i, 1);
    }
    if (err) b.reject(err);
    else b.resolve();
    this.pump();
  }

  private settleAll(err: BridgeError): void {
    for (const b of [...this.queue, ...new Set(this.inFlight.values())]) this.settle(b, err);
  }

  private peerGone(err: BridgeError): void {
    if (this.gone || this.closed) return;
    this.gone = err;
    this.log.warn('parent process gone', { err, unacked: this.inFlight.size });
    this.settleAll(err);
    this.detach();
    this.o.onPeerGone?.(err);
  }

  private detach(): void {
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    this.input.off('close', this.onEnd);
    this.input.off('error', this.onEnd);
    // Keeps the event loop from waiting on a stdin nobody reads any more.
    (this.input as NodeJS.ReadableStream & { pause?: () => void; destroy?: () => void }).pause?.();
    if (this.input === process.stdin) process.stdin.destroy();
  }
}

export function createStdioSink(opts: StdioSinkOptions = {}): StdioSink {
  return new StdioSink(opts);
}
