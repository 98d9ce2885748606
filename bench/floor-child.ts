/**
 * Bench child: the floor. The least work that moves the same data: fetch the same blobs (same
 * emulator, same TLS, same concurrency), JSON.parse each whole body, encode the events to msgpack
 * (the sink's own writer, the fastest encoder we have) as PackedForward with a chunk id, write them to
 * the same receiver and wait for its acks. No validation, routing, dedup, checkpoints or retries.
 */
import * as https from 'node:https';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import { decode, encode } from '@msgpack/msgpack';
import { MsgpackFrameReader } from '../src/sinks/forward/msgpack-frames';
import { MsgpackWriter } from '../src/sinks/forward/msgpack-writer';
import { threadCpu, cpuSeconds, gcCounter, peakRssMiB, profiled, serve, type GcCounts } from './proc';
import type { BlobListing, ServicesInfo } from './services';

export interface FloorRunArgs {
  services: ServicesInfo;
  blobs: BlobListing[];
  concurrency: number;
  maxPacketBytes: number;
  maxInFlight: number;
  profileFile?: string;
}

export interface FloorRunResult {
  acked: number;
  blobs: number;
  wallSeconds: number;
  cpuSeconds: number;
  peakRssMiB: number;
  gc: GcCounts;
}

function request(agent: https.Agent, method: string, url: string, headers: Record<string, string>, body?: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const b = Buffer.concat(chunks);
        if (res.statusCode !== 200) reject(new Error(`${method} ${url.slice(0, 80)}: HTTP ${res.statusCode} ${b.toString('utf8', 0, 200)}`));
        else resolve(b);
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A forward connection that writes packets and counts acks; at most `maxInFlight` unacked. */
class FloorSink {
  private readonly socket: net.Socket;
  private readonly reader = new MsgpackFrameReader(64 * 1024);
  private readonly pending = new Map<string, number>();
  private waiters: Array<() => void> = [];
  acked = 0;

  constructor(port: number, private readonly maxInFlight: number) {
    this.socket = net.connect({ host: '127.0.0.1', port });
    this.socket.setNoDelay(true);
    this.socket.on('data', (c: Buffer) =>
      this.reader.push(c, (f) => {
        const chunk = (decode(f) as { ack?: string }).ack;
        const n = chunk === undefined ? undefined : this.pending.get(chunk);
        if (n === undefined) return;
        this.pending.delete(chunk!);
        this.acked += n;
        const w = this.waiters;
        this.waiters = [];
        for (const f2 of w) f2();
      }),
    );
  }

  async ready(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
  }

  private wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Writes one PackedForward packet: [tag, bin(entries), {chunk, size}]. */
  async write(tag: Buffer, entries: Buffer, count: number): Promise<void> {
    while (this.pending.size >= this.maxInFlight) await this.wait();
    const chunk = randomBytes(16).toString('base64');
    const option = encode({ chunk, size: count });
    const head = Buffer.allocUnsafe(1 + 1 + tag.length + 5);
    head[0] = 0x93;
    head[1] = 0xa0 | tag.length;
    tag.copy(head, 2);
    head[2 + tag.length] = 0xc6;
    head.writeUInt32BE(entries.length, 3 + tag.length);
    this.pending.set(chunk, count);
    this.socket.write(Buffer.concat([head, entries, option]));
  }

  async drain(): Promise<void> {
    while (this.pending.size > 0) await this.wait();
  }

  close(): void {
    this.socket.destroy();
  }
}

serve({
  async run(a: FloorRunArgs): Promise<FloorRunResult> {
    const s = a.services;
    const agent = new https.Agent({ keepAlive: true, ca: s.ca, maxSockets: a.concurrency });
    const tokens = new Map<string, string>();
    for (const t of s.tenants) {
      const form = new URLSearchParams({ client_id: t.clientId, client_secret: t.clientSecret, grant_type: 'client_credentials', scope: `${s.url}/.default` });
      const body = await request(agent, 'POST', `${s.url}/${t.tenantId}/oauth2/v2.0/token`, { 'Content-Type': 'application/x-www-form-urlencoded' }, form.toString());
      tokens.set(t.tenantId, (JSON.parse(body.toString('utf8')) as { access_token: string }).access_token);
    }
    const sink = new FloorSink(s.receiverPort, a.maxInFlight);
    await sink.ready();
    const tag = Buffer.from('o365.floor');
    const w = new MsgpackWriter(a.maxPacketBytes + 1024 * 1024);
    let count = 0;
    const sec = Math.floor(Date.now() / 1000);
    const flush = async () => {
      if (count === 0) return;
      const entries = Buffer.from(w.buf.subarray(0, w.pos));
      const n = count;
      w.pos = 0;
      count = 0;
      await sink.write(tag, entries, n);
    };

    const gc = gcCounter();
    const cpu0 = process.cpuUsage();
    const start = process.hrtime.bigint();
    let next = 0;
    // Encoding is synchronous, so one blob is encoded at a time; fetches overlap it.
    let lock = Promise.resolve();
    const worker = async () => {
      while (next < a.blobs.length) {
        const b = a.blobs[next++];
        const body = await request(agent, 'GET', b.contentUri, { Authorization: `Bearer ${tokens.get(b.tenantId)}` });
        const records = JSON.parse(body.toString('utf8')) as unknown[];
        const mine = lock.then(async () => {
          for (const rec of records) {
            const p = w.pos;
            w.ensure(11);
            w.buf[p] = 0x92;
            w.buf[p + 1] = 0xd7;
            w.buf[p + 2] = 0x00;
            w.buf.writeUInt32BE(sec, p + 3);
            w.buf.writeUInt32BE(0, p + 7);
            w.pos = p + 11;
            w.value(rec);
            count++;
            if (w.pos >= a.maxPacketBytes) await flush();
          }
        });
        lock = mine;
        await mine;
      }
    };
    await profiled(a.profileFile, async () => {
      await Promise.all(Array.from({ length: a.concurrency }, worker));
      await lock;
      await flush();
      await sink.drain();
    });
    const wallSeconds = Number(process.hrtime.bigint() - start) / 1e9;
    const cpu = cpuSeconds(cpu0);
    if (process.env.BENCH_THREADS) process.stderr.write(`threads ${JSON.stringify(threadCpu())}\n`);
    const gcCounts = await gc.stop();
    sink.close();
    agent.destroy();
    return { acked: sink.acked, blobs: a.blobs.length, wallSeconds, cpuSeconds: cpu, peakRssMiB: peakRssMiB(), gc: gcCounts };
  },
});
