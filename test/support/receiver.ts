/**
 * A forward-protocol receiver for tests, fault suites and benchmarks, on 127.0.0.1.
 *
 * Two implementations behind one API:
 * - 'raw' (default): a small loopback server written here from the Forward Protocol Specification v1
 *   (Message, Forward, PackedForward, CompressedPackedForward; `option.chunk` → `{ack}`; shared-key
 *   HELO/PING/PONG with optional user auth; TLS). It decides when and what to acknowledge, so it can
 *   play every fault mode, and can count events without decoding records (`store: 'count'`).
 * - 'fluent-org': @fluent-org/logger's FluentServer, an implementation by the fluent project that
 *   shares no code with our client: a second opinion for the happy path. It acks before emitting
 *   entries and cannot play faults, so it supports only mode 'ack' (setMode throws otherwise).
 *
 * Imports nothing from src/ (see design.md: the receiver must not share the client's mistakes).
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { createHash, randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { Decoder, Encoder, ExtensionCodec } from '@msgpack/msgpack';
import { FluentServer, EventTime } from '@fluent-org/logger';
import { MsgpackFrameReader, msgpackValueEnd } from './receiver-msgpack';

/** 'never-read': accepts TCP and never reads (the socket stays paused, so the kernel buffers fill up). */
export type ReceiverMode = 'ack' | 'never-ack' | 'slow-ack' | 'close-mid-batch' | 'wrong-chunk' | 'out-of-order' | 'drop-oversize' | 'never-read';

export interface ModeOptions {
  /** Delay before each ack in 'slow-ack' (default 1000) and, when set, in 'ack'. */
  ackDelayMs?: number;
  /** 'drop-oversize': transport messages over this many bytes are dropped without an ack (default 6,144,000, Fluent Bit's buffer_max_size). */
  maxBytes?: number;
  /** 'out-of-order': acks are held until this many are pending, then written reversed in one write (default 2). */
  window?: number;
}

export interface ReceiverOptions extends ModeOptions {
  port?: number;
  sharedKey?: string;
  /** User auth (Fluentd `<user>`): name → password. Needs sharedKey. */
  users?: Record<string, string>;
  /** Our hostname in PONG (default 'receiver.test'). */
  serverHostname?: string;
  tls?: { key: string; cert: string };
  mode?: ReceiverMode;
  /** 'all' keeps every event; 'ids' keeps record.Id values and counts; 'count' only counts (benchmarks). Default 'all'. */
  store?: 'all' | 'ids' | 'count';
  impl?: 'raw' | 'fluent-org';
  /** Send HELO's nonce as a msgpack str, as Fluent Bit does (raw only). */
  nonceAsStr?: boolean;
  /** Write every ack in two TCP segments (raw only): provokes clients that take one `data` event as one ack. */
  splitAcks?: boolean;
}

export interface ReceivedEvent {
  tag: string;
  time: { sec: number; nsec: number };
  record: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** One transport message as received (raw only; kept unless store is 'count'). */
export interface ReceivedPacket {
  mode: 'Message' | 'Forward' | 'PackedForward' | 'CompressedPackedForward';
  tag: string;
  chunk?: string;
  /** option.size as sent (the spec: number of events). */
  sizeOption?: unknown;
  events: number;
  bytes: number;
  acked: boolean;
}

export interface Receiver {
  port: number;
  /** Events received (store 'all'), acked or not, in arrival order. */
  events: ReceivedEvent[];
  packets: ReceivedPacket[];
  /** record.Id of every event received (acked or not). */
  ids(): Set<string>;
  /** record.Id of every event whose packet was acknowledged. */
  ackedIds(): Set<string>;
  /** Events received per tag. */
  countByTag(): Map<string, number>;
  /** Events received / acknowledged. */
  readonly received: number;
  readonly acked: number;
  /** Connections accepted since start (reconnects show up here). */
  readonly connections: number;
  readonly openConnections: number;
  /** Handshakes refused, messages dropped as oversize, protocol errors (connection closed). */
  readonly stats: { authFailures: number; droppedOversize: number; protocolErrors: number; closedMidBatch: number };
  setMode(m: ReceiverMode, opts?: ModeOptions): void;
  /** Chunk ids held back in 'never-ack' mode, oldest first. */
  heldChunks(): string[];
  /** Writes held acks now, oldest first (all, or the first n): a late ack on demand, deterministic. */
  releaseHeldAcks(n?: number): void;
  /** Receiver down: stops listening and drops every connection. */
  pause(): Promise<void>;
  /** Receiver back on the same port. */
  resume(): Promise<void>;
  /** Resolves when `pred()` holds, checked after every message and connection; rejects after timeoutMs. */
  waitFor(pred: () => boolean, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const timeCodec = new ExtensionCodec();
timeCodec.register({
  type: 0,
  encode: () => null,
  decode: (data: Uint8Array) => {
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    return { sec: v.getUint32(0), nsec: v.getUint32(4), __eventTime: true };
  },
});

function sha512hex(...parts: Array<string | Uint8Array>): string {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

class ProtocolError extends Error {}

function toTime(t: unknown): { sec: number; nsec: number } {
  if (t && typeof t === 'object' && (t as { __eventTime?: boolean }).__eventTime) {
    const e = t as { sec: number; nsec: number };
    return { sec: e.sec, nsec: e.nsec };
  }
  // The spec allows an integer; a float is invalid (Fluentd drops the connection on it).
  if (typeof t === 'number' && Number.isInteger(t)) return { sec: t, nsec: 0 };
  throw new ProtocolError('invalid time');
}

interface Conn {
  socket: net.Socket;
  state: 'ping' | 'ready';
  nonce: Buffer;
  authSalt: Buffer;
  held: string[]; // out-of-order / never-ack
  holdTimer?: NodeJS.Timeout;
}

abstract class BaseReceiver implements Receiver {
  port = 0;
  events: ReceivedEvent[] = [];
  packets: ReceivedPacket[] = [];
  received = 0;
  acked = 0;
  connections = 0;
  stats = { authFailures: 0, droppedOversize: 0, protocolErrors: 0, closedMidBatch: 0 };
  protected readonly receivedIds = new Set<string>();
  protected readonly ackIds = new Set<string>();
  protected readonly byTag = new Map<string, number>();
  private waiters = new Set<() => void>();

  constructor(protected readonly o: ReceiverOptions) {}

  abstract get openConnections(): number;
  abstract setMode(m: ReceiverMode, opts?: ModeOptions): void;
  abstract heldChunks(): string[];
  abstract releaseHeldAcks(n?: number): void;
  abstract pause(): Promise<void>;
  abstract resume(): Promise<void>;
  abstract stop(): Promise<void>;

  ids(): Set<string> {
    return new Set(this.receivedIds);
  }
  ackedIds(): Set<string> {
    return new Set(this.ackIds);
  }
  countByTag(): Map<string, number> {
    return new Map(this.byTag);
  }

  waitFor(pred: () => boolean, timeoutMs = 10_000): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!pred()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`receiver: condition not met within ${timeoutMs} ms (received ${this.received}, acked ${this.acked}, connections ${this.connections})`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  protected notify(): void {
    for (const w of [...this.waiters]) w();
  }

  protected record(tag: string, time: { sec: number; nsec: number }, record: any, ids: string[] | null): void { // eslint-disable-line @typescript-eslint/no-explicit-any
    this.received++;
    this.byTag.set(tag, (this.byTag.get(tag) ?? 0) + 1);
    const store = this.o.store ?? 'all';
    if (store === 'count') return;
    if (store === 'all') this.events.push({ tag, time, record });
    const id = record && typeof record === 'object' ? record.Id : undefined;
    if (typeof id === 'string') {
      this.receivedIds.add(id);
      ids?.push(id);
    }
  }
}

// ---- raw implementation --------------------------------------------------------------------------

class RawReceiver extends BaseReceiver {
  private server!: net.Server;
  private readonly conns = new Set<Conn>();
  private mode: ReceiverMode;
  private modeOpts: ModeOptions;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly decoder = new Decoder({ extensionCodec: timeCodec });
  private readonly encoder = new Encoder();

  constructor(o: ReceiverOptions) {
    super(o);
    this.mode = o.mode ?? 'ack';
    this.modeOpts = { ackDelayMs: o.ackDelayMs, maxBytes: o.maxBytes, window: o.window };
  }

  get openConnections(): number {
    return this.conns.size;
  }

  async listen(port: number): Promise<void> {
    this.server = this.o.tls
      ? tls.createServer({ key: this.o.tls.key, cert: this.o.tls.cert }, (s) => this.onConnection(s))
      : net.createServer((s) => this.onConnection(s));
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.removeListener('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  setMode(m: ReceiverMode, opts: ModeOptions = {}): void {
    this.mode = m;
    this.modeOpts = { ...this.modeOpts, ...opts };
    for (const c of this.conns) {
      if (m === 'never-read') c.socket.pause();
      else c.socket.resume();
    }
  }

  heldChunks(): string[] {
    const out: string[] = [];
    for (const c of this.conns) out.push(...c.held);
    return out;
  }

  releaseHeldAcks(n = Infinity): void {
    for (const c of this.conns) {
      while (n > 0 && c.held.length > 0) {
        this.writeAck(c, c.held.shift()!);
        n--;
      }
    }
  }

  private onConnection(socket: net.Socket): void {
    this.connections++;
    const c: Conn = { socket, state: 'ready', nonce: Buffer.alloc(0), authSalt: Buffer.alloc(0), held: [] };
    this.conns.add(c);
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (c.holdTimer) clearTimeout(c.holdTimer);
      this.conns.delete(c);
      this.notify();
    });
    if (this.o.sharedKey !== undefined) {
      c.state = 'ping';
      c.nonce = randomBytes(16);
      c.authSalt = this.o.users ? randomBytes(16) : Buffer.alloc(0);
      socket.write(this.helo(c));
    }
    // Generous bound: benchmark packets are a few MiB; 'drop-oversize' must still see oversize ones.
    const reader = new MsgpackFrameReader(64 * 1024 * 1024);
    socket.on('data', (chunk: Buffer) => {
      if (socket.destroyed) return;
      if (this.mode === 'close-mid-batch' && c.state === 'ready') {
        // Read part of a batch, then go away without acking anything of it.
        this.stats.closedMidBatch++;
        socket.destroy();
        this.notify();
        return;
      }
      try {
        reader.push(chunk, (frame) => {
          if (!socket.destroyed) this.onFrame(c, frame);
        });
      } catch {
        this.stats.protocolErrors++;
        socket.destroy();
      }
      this.notify();
    });
    if (this.mode === 'never-read') socket.pause();
    this.notify();
  }

  private helo(c: Conn): Buffer {
    const opts = { nonce: c.nonce, auth: c.authSalt.length > 0 ? c.authSalt : '', keepalive: true };
    if (!this.o.nonceAsStr) return Buffer.from(this.encoder.encode(['HELO', opts]));
    // Fluent Bit style: the nonce's random bytes inside a msgpack str.
    const head = Buffer.from(this.encoder.encode(['HELO', { ...opts, nonce: 'N' }]));
    const marker = head.indexOf(Buffer.from([0xa1, 0x4e])); // fixstr "N"
    return Buffer.concat([head.subarray(0, marker), Buffer.from([0xa0 | c.nonce.length]), c.nonce, head.subarray(marker + 2)]);
  }

  private onFrame(c: Conn, frame: Buffer): void {
    if (c.state === 'ping') {
      this.onPing(c, frame);
      return;
    }
    try {
      this.onTransport(c, frame);
    } catch {
      this.stats.protocolErrors++;
      c.socket.destroy();
    }
  }

  private onPing(c: Conn, frame: Buffer): void {
    const m = this.decoder.decode(frame) as unknown[];
    const host = this.o.serverHostname ?? 'receiver.test';
    const fail = (reason: string): void => {
      this.stats.authFailures++;
      // Like Fluentd: a PONG saying why, then the connection closes.
      c.socket.end(Buffer.from(this.encoder.encode(['PONG', false, reason, host, ''])));
    };
    if (!Array.isArray(m) || m.length !== 6 || m[0] !== 'PING') return fail('PING expected');
    const [, clientHost, salt, digest, user, passDigest] = m as [string, string, string, string, string, string];
    if (clientHost === host) return fail('same hostname between input and output: invalid configuration');
    if (digest !== sha512hex(String(salt), String(clientHost), c.nonce, this.o.sharedKey!)) return fail('shared_key mismatch');
    if (this.o.users) {
      const pass = this.o.users[user];
      if (pass === undefined || passDigest !== sha512hex(c.authSalt, String(user), pass)) return fail('username/password mismatch');
    }
    c.state = 'ready';
    c.socket.write(Buffer.from(this.encoder.encode(['PONG', true, '', host, sha512hex(String(salt), host, c.nonce, this.o.sharedKey!)])));
  }

  /** Reads one transport message by hand: element 1's msgpack type tells the mode. */
  private onTransport(c: Conn, frame: Buffer): void {
    if (this.mode === 'drop-oversize' && frame.length > (this.modeOpts.maxBytes ?? 6_144_000)) {
      // Dropped whole and unacked, as Fluent Bit does over buffer_max_size.
      this.stats.droppedOversize++;
      return;
    }
    const h = frame[0];
    let n: number;
    let pos: number;
    if (h >= 0x90 && h <= 0x9f) { n = h & 0x0f; pos = 1; }
    else if (h === 0xdc) { n = frame.readUInt16BE(1); pos = 3; }
    else throw new ProtocolError('transport message must be an array');
    if (n < 2 || n > 4) throw new ProtocolError('bad array length');
    const bounds: number[] = [pos];
    for (let i = 0; i < n; i++) {
      pos = msgpackValueEnd(frame, pos, frame.length);
      if (pos < 0) throw new ProtocolError('truncated');
      bounds.push(pos);
    }
    const el = (i: number): Buffer => frame.subarray(bounds[i], bounds[i + 1]);
    const tag = this.decoder.decode(el(0));
    if (typeof tag !== 'string') throw new ProtocolError('tag must be a string');
    const t1 = frame[bounds[1]];
    const store = this.o.store ?? 'all';
    const ids: string[] | null = store === 'count' ? null : [];
    let option: Record<string, unknown> | undefined;
    let count = 0;
    let mode: ReceivedPacket['mode'];
    if ((t1 >= 0x90 && t1 <= 0x9f) || t1 === 0xdc || t1 === 0xdd) {
      mode = 'Forward';
      option = n > 2 ? (this.decoder.decode(el(2)) as Record<string, unknown>) : undefined;
      const entries = this.decoder.decode(el(1)) as unknown[];
      for (const e of entries) {
        if (!Array.isArray(e) || e.length !== 2) throw new ProtocolError('bad entry');
        this.record(tag, toTime(e[0]), e[1], ids);
        count++;
      }
    } else if ((t1 >= 0xa0 && t1 <= 0xbf) || (t1 >= 0xc4 && t1 <= 0xc6) || (t1 >= 0xd9 && t1 <= 0xdb)) {
      option = n > 2 ? (this.decoder.decode(el(2)) as Record<string, unknown>) : undefined;
      // bin or str: the entries' raw bytes start after the header (Fluentd's out_forward sends str).
      const hl = t1 <= 0xbf ? 1 : t1 === 0xc4 || t1 === 0xd9 ? 2 : t1 === 0xc5 || t1 === 0xda ? 3 : 5;
      let raw = el(1).subarray(hl);
      mode = 'PackedForward';
      if (option?.compressed === 'gzip') {
        mode = 'CompressedPackedForward';
        raw = gunzipSync(raw);
      }
      if (store === 'count') {
        // Count entries without decoding records: benchmarks need ~100k+ events/s here.
        let p = 0;
        while (p < raw.length) {
          if (raw[p] !== 0x92) throw new ProtocolError('bad entry');
          const e = msgpackValueEnd(raw, p, raw.length);
          if (e < 0) throw new ProtocolError('truncated entry');
          p = e;
          count++;
        }
        this.received += count;
        this.byTag.set(tag, (this.byTag.get(tag) ?? 0) + count);
      } else {
        for (const e of this.decoder.decodeMulti(raw)) {
          if (!Array.isArray(e) || e.length !== 2) throw new ProtocolError('bad entry');
          this.record(tag, toTime(e[0]), e[1], ids);
          count++;
        }
      }
    } else {
      mode = 'Message';
      if (n < 3) throw new ProtocolError('bad message');
      option = n > 3 ? (this.decoder.decode(el(3)) as Record<string, unknown>) : undefined;
      this.record(tag, toTime(this.decoder.decode(el(1))), this.decoder.decode(el(2)), ids);
      count = 1;
    }
    const chunk = typeof option?.chunk === 'string' ? option.chunk : undefined;
    const packet: ReceivedPacket = { mode, tag, chunk, sizeOption: option?.size, events: count, bytes: frame.length, acked: false };
    if (store !== 'count') this.packets.push(packet);
    if (chunk === undefined) return;
    const onAck = (): void => {
      packet.acked = true;
      this.acked += count;
      for (const id of ids ?? []) this.ackIds.add(id);
    };
    this.ackFor(c, chunk, onAck);
  }

  private readonly pendingAckEffects = new Map<string, () => void>();

  private ackFor(c: Conn, chunk: string, onAck: () => void): void {
    this.pendingAckEffects.set(chunk, onAck);
    switch (this.mode) {
      case 'never-ack':
        c.held.push(chunk);
        return;
      case 'wrong-chunk':
        this.pendingAckEffects.delete(chunk);
        this.writeRaw(c, { ack: randomBytes(16).toString('base64') });
        return;
      case 'out-of-order': {
        c.held.push(chunk);
        const window = this.modeOpts.window ?? 2;
        if (c.held.length >= window) this.flushReversed(c);
        else if (!c.holdTimer) c.holdTimer = setTimeout(() => this.flushReversed(c), 50); // no deadlock on a short tail
        return;
      }
      case 'slow-ack':
      case 'ack': {
        const delay = this.mode === 'slow-ack' ? this.modeOpts.ackDelayMs ?? 1000 : this.modeOpts.ackDelayMs ?? 0;
        if (delay <= 0) return this.writeAck(c, chunk);
        const t = setTimeout(() => {
          this.timers.delete(t);
          this.writeAck(c, chunk);
        }, delay);
        this.timers.add(t);
        return;
      }
      default:
        this.writeAck(c, chunk);
    }
  }

  private flushReversed(c: Conn): void {
    if (c.holdTimer) clearTimeout(c.holdTimer);
    c.holdTimer = undefined;
    const held = c.held.reverse();
    c.held = [];
    // One write for all: several acks in one TCP segment, newest first.
    const bufs = held.map((chunk) => {
      this.pendingAckEffects.get(chunk)?.();
      this.pendingAckEffects.delete(chunk);
      return Buffer.from(this.encoder.encode({ ack: chunk }));
    });
    if (!c.socket.destroyed) c.socket.write(Buffer.concat(bufs));
    this.notify();
  }

  private writeAck(c: Conn, chunk: string): void {
    if (c.socket.destroyed) return;
    this.pendingAckEffects.get(chunk)?.();
    this.pendingAckEffects.delete(chunk);
    this.writeRaw(c, { ack: chunk });
    this.notify();
  }

  private writeRaw(c: Conn, msg: unknown): void {
    if (c.socket.destroyed) return;
    const b = Buffer.from(this.encoder.encode(msg));
    if (this.o.splitAcks && b.length > 1) {
      const cut = b.length >> 1;
      c.socket.write(b.subarray(0, cut));
      // Separate segments: a later macrotask, after TCP_NODELAY flushed the first half.
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (!c.socket.destroyed) c.socket.write(b.subarray(cut));
      }, 20);
      this.timers.add(t);
    } else {
      c.socket.write(b);
    }
  }

  async pause(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of this.conns) c.socket.destroy();
    await closed;
  }

  async resume(): Promise<void> {
    await this.listen(this.port);
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.server.listening) await this.pause();
    else for (const c of this.conns) c.socket.destroy();
  }
}

// ---- @fluent-org/logger's FluentServer -------------------------------------------------------------

class FluentOrgReceiver extends BaseReceiver {
  private server!: FluentServer;
  private readonly sockets = new Set<net.Socket>();

  get openConnections(): number {
    return this.sockets.size;
  }

  async listen(port: number): Promise<void> {
    const o = this.o;
    this.server = new FluentServer({
      listenOptions: { port, host: '127.0.0.1' },
      tlsOptions: o.tls ? { key: o.tls.key, cert: o.tls.cert } : undefined,
      security: o.sharedKey !== undefined
        ? { serverHostname: o.serverHostname ?? 'receiver.test', sharedKey: o.sharedKey, authorize: !!o.users, userDict: o.users ?? {} }
        : undefined,
    });
    // FluentServer acks before it emits entries, so everything seen here was acked (for chunked packets).
    this.server.on('entry', (tag: string, time: unknown, record: any) => { // eslint-disable-line @typescript-eslint/no-explicit-any
      const t = time instanceof EventTime ? { sec: time.epoch, nsec: time.nano } : { sec: Number(time), nsec: 0 };
      const ids: string[] = [];
      this.record(tag, t, record, ids);
      this.acked++;
      for (const id of ids) this.ackIds.add(id);
      this.notify();
    });
    const inner = (this.server as unknown as { server: net.Server }).server;
    inner.on(o.tls ? 'secureConnection' : 'connection', (s: net.Socket) => {
      this.connections++;
      this.sockets.add(s);
      s.on('close', () => {
        this.sockets.delete(s);
        this.notify();
      });
      this.notify();
    });
    await this.server.listen();
    this.port = this.server.port!;
  }

  setMode(m: ReceiverMode): void {
    if (m !== 'ack') throw new Error("the 'fluent-org' receiver only acks (it acks before emitting); use impl 'raw' for faults");
  }
  heldChunks(): string[] {
    return [];
  }
  releaseHeldAcks(): void {}

  async pause(): Promise<void> {
    const p = this.server.close();
    for (const s of this.sockets) s.destroy();
    await p;
  }
  async resume(): Promise<void> {
    await this.listen(this.port);
  }
  async stop(): Promise<void> {
    await this.pause();
  }
}

export async function startReceiver(opts: ReceiverOptions = {}): Promise<Receiver> {
  if (opts.impl === 'fluent-org') {
    if (opts.mode && opts.mode !== 'ack') throw new Error("the 'fluent-org' receiver supports mode 'ack' only");
    const r = new FluentOrgReceiver(opts);
    await r.listen(opts.port ?? 0);
    return r;
  }
  const r = new RawReceiver(opts);
  await r.listen(opts.port ?? 0);
  return r;
}
