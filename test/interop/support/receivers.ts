/**
 * The real receivers of ../shared/receivers (Fluentd 1.16.11 and 1.18.0, Fluent Bit 4.2.8) as test
 * fixtures: find them (or say why not), write a config into a temp dir, start one process (no
 * supervisor, so a kill is a real crash of the process that acknowledged), stop or kill it, and read
 * back what it wrote to its file outputs as {tag, time, record}.
 *
 * Imports nothing from src/ but the package root: like the test receiver, the reader of what the
 * receiver wrote must not share the client's mistakes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeMulti, ExtensionCodec } from '@msgpack/msgpack';
import { packageRoot } from '../../../src/paths';

/** Where the receivers live: beside the project, as in CI (O365FB_RECEIVERS overrides). */
export const RECEIVERS = process.env.O365FB_RECEIVERS ?? path.resolve(packageRoot, '..', 'shared', 'receivers');
export const FLUENTD = path.join(RECEIVERS, 'bin', 'fluentd');
export const FLUENT_BIT = path.join(RECEIVERS, 'bin', 'fluent-bit');
/** The versions the README names as tested. */
export const FLUENTD_VERSIONS = ['1.16.11', '1.18.0'] as const;
export type FluentdVersion = (typeof FLUENTD_VERSIONS)[number];

let cachedReason: string | null | undefined;
/** Why the interop suite cannot run here (null: it can). Checked once: both programs must start. */
export function receiversMissing(): string | null {
  if (cachedReason !== undefined) return cachedReason;
  if (!fs.existsSync(FLUENTD) || !fs.existsSync(FLUENT_BIT)) {
    cachedReason = `no real receivers at ${RECEIVERS} (a fresh clone has none; CI puts them beside the project and runs ../shared/receivers/setup)`;
    return cachedReason;
  }
  for (const [bin, env] of [[FLUENTD, {}], [FLUENTD, { FLUENTD_VERSION: '1.18.0' }], [FLUENT_BIT, {}]] as const) {
    const r = spawnSync(bin, ['--version'], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0) {
      cachedReason = `${bin} --version failed (${(r.stderr || r.stdout || String(r.error)).trim().split('\n').pop()}); run ${path.join(RECEIVERS, 'setup')}`;
      return cachedReason;
    }
  }
  cachedReason = null;
  return null;
}

/** In a `before`/`it`: skips the suite with the reason printed when the receivers are absent. */
let told = false;
export function requireReceivers(ctx: Mocha.Context): void {
  const why = receiversMissing();
  if (why) {
    if (!told) process.stdout.write(`      interop suite skipped: ${why}\n`);
    told = true;
    ctx.skip();
  }
}

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitUntil(pred: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await delay(50);
  }
}

// ---- configs ------------------------------------------------------------------------------------

export interface ReceiverAuth {
  sharedKey?: string;
  /** user → password (needs sharedKey). */
  users?: Record<string, string>;
  /** PEM files of the server's certificate and key; the key encrypted with `passphrase` when given. */
  tls?: { certFile: string; keyFile: string; passphrase?: string };
}

/**
 * A Fluentd config: forward input, every `o365.**` event to one file per tag with the tag and the
 * event time (nanoseconds, UTC) injected under keys no record has, through a file buffer (what was
 * acknowledged survives a crash), flushed every second and at shutdown.
 */
export function fluentdConfig(o: ReceiverAuth & { port: number; dir: string }): string {
  const sec = o.sharedKey
    ? `  <security>
    self_hostname fluentd.interop.test
    shared_key ${o.sharedKey}
${o.users ? '    user_auth true\n' + Object.entries(o.users).map(([u, p]) => `    <user>\n      username ${u}\n      password ${p}\n    </user>\n`).join('') : ''}  </security>
`
    : '';
  const tls = o.tls
    ? `  <transport tls>\n    cert_path ${o.tls.certFile}\n    private_key_path ${o.tls.keyFile}\n${o.tls.passphrase ? `    private_key_passphrase ${o.tls.passphrase}\n` : ''}  </transport>\n`
    : '';
  return `<system>
  log_level info
</system>
<source>
  @type forward
  port ${o.port}
  bind 127.0.0.1
${sec}${tls}</source>
<match o365.**>
  @type file
  path ${o.dir}/out/\${tag}
  append true
  <format>
    @type json
  </format>
  <inject>
    tag_key ${TAG_KEY}
    time_key ${TIME_KEY}
    time_type string
    time_format %Y-%m-%dT%H:%M:%S.%N
    utc true
  </inject>
  <buffer tag>
    @type file
    path ${o.dir}/buffer
    flush_mode interval
    flush_interval 1s
    flush_at_shutdown true
  </buffer>
</match>
`;
}

/** Keys injected by fluentdConfig (no O365 record has them). */
export const TAG_KEY = '__interop_tag';
export const TIME_KEY = '__interop_time';

/** A Fluent Bit config: forward input on filesystem storage, every event to one msgpack file per tag. */
export function fluentBitConfig(o: ReceiverAuth & { port: number; dir: string }): string {
  const lines = [
    '[SERVICE]',
    '    flush 1',
    '    grace 5',
    '    log_level info',
    `    storage.path ${o.dir}/storage`,
    '    storage.sync full',
    '[INPUT]',
    '    name forward',
    '    listen 127.0.0.1',
    `    port ${o.port}`,
    '    storage.type filesystem',
  ];
  if (o.sharedKey) lines.push(`    shared_key ${o.sharedKey}`, '    self_hostname fluent-bit.interop.test');
  if (o.users) for (const [u, p] of Object.entries(o.users)) lines.push(`    security.users ${u} ${p}`);
  if (o.tls) lines.push('    tls on', '    tls.verify off', `    tls.crt_file ${o.tls.certFile}`, `    tls.key_file ${o.tls.keyFile}`, ...(o.tls.passphrase ? [`    tls.key_passwd ${o.tls.passphrase}`] : []));
  lines.push('[OUTPUT]', '    name file', '    match o365.*', `    path ${o.dir}/out`, '    mkdir true', '    format msgpack', '');
  return lines.join('\n');
}

// ---- processes ----------------------------------------------------------------------------------

export type Kind = 'fluentd' | 'fluent-bit';

export interface RealReceiverOptions extends ReceiverAuth {
  kind: Kind;
  version?: FluentdVersion;
  /** The config text instead of the default one (use `{{PORT}}` and `{{DIR}}`). */
  config?: string;
  port?: number;
  dir?: string;
}

/** One real receiver process. start() again after stop()/kill() reuses the port, dir, buffers and storage. */
export class RealReceiver {
  readonly kind: Kind;
  readonly version?: FluentdVersion;
  readonly dir: string;
  port = 0;
  proc: ChildProcess | null = null;
  /** Every line it logged, across restarts. */
  log = '';
  private exited: Promise<void> = Promise.resolve();
  private readonly o: RealReceiverOptions;

  constructor(o: RealReceiverOptions) {
    this.o = o;
    this.kind = o.kind;
    this.version = o.kind === 'fluentd' ? (o.version ?? '1.16.11') : undefined;
    this.dir = o.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), `o365fb-interop-${o.kind}-`));
  }

  static async start(o: RealReceiverOptions): Promise<RealReceiver> {
    const r = new RealReceiver(o);
    await r.start();
    return r;
  }

  get name(): string {
    return this.kind === 'fluentd' ? `Fluentd ${this.version}` : 'Fluent Bit 4.2.8';
  }

  get running(): boolean {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  async start(): Promise<void> {
    if (!this.port) this.port = this.o.port ?? (await freePort());
    const conf = path.join(this.dir, this.kind === 'fluentd' ? 'fluent.conf' : 'fluent-bit.conf');
    const text = this.o.config
      ? this.o.config.replace(/\{\{PORT\}\}/g, String(this.port)).replace(/\{\{DIR\}\}/g, this.dir)
      : (this.kind === 'fluentd' ? fluentdConfig : fluentBitConfig)({ ...this.o, port: this.port, dir: this.dir });
    fs.writeFileSync(conf, text);
    const args = this.kind === 'fluentd' ? ['-c', conf, '--no-supervisor'] : ['-c', conf];
    const env = { ...process.env, FLUENTD_VERSION: this.version ?? '' };
    const p = spawn(this.kind === 'fluentd' ? FLUENTD : FLUENT_BIT, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = p;
    const onData = (d: Buffer) => (this.log += d.toString('utf8').replace(/\x1b\[[0-9;]*m/g, ''));
    p.stdout!.on('data', onData);
    p.stderr!.on('data', onData);
    this.exited = new Promise((r) => p.once('close', () => r()));
    const ready = this.kind === 'fluentd' ? /fluentd worker is now running/g : /\[input:forward:forward\.0\] listening on/g;
    const before = (this.log.match(ready) ?? []).length;
    await waitUntil(() => (this.log.match(ready) ?? []).length > before || !this.running, 60_000, `${this.name} to start`);
    // (No probe connection: to a TLS port it would itself be an "unexpected eof" in the receiver's log.)
    if (!this.running) throw new Error(`${this.name} exited at start:\n${this.log.slice(-3000)}`);
  }

  /** Ends the process with `signal` and waits for it (SIGTERM: a clean stop, flushing; SIGKILL: a crash). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.running) this.proc!.kill(signal);
    const t = setTimeout(() => this.proc?.kill('SIGKILL'), 30_000);
    await this.exited;
    clearTimeout(t);
  }

  /** Asks Fluentd to flush its buffers now (SIGUSR1), e.g. for time-keyed chunks. */
  flush(): void {
    if (this.kind === 'fluentd' && this.running) this.proc!.kill('SIGUSR1');
  }

  /** Chunk files still in the receiver's buffer (Fluentd) or storage (Fluent Bit), under `dir`. */
  bufferedChunks(): string[] {
    return this.kind === 'fluentd'
      ? files(this.dir).filter((f) => /[/\\]buffer\.[bq][0-9a-f]+\.log$/.test(f))
      : files(path.join(this.dir, 'storage')).filter((f) => f.endsWith('.flb'));
  }

  /**
   * Waits until everything it accepted is written out: its buffer (or storage) holds no chunk. Faster
   * than a clean stop (Fluentd 1.16 takes seconds to shut an in_forward that had connections).
   */
  async drain(timeoutMs = 60_000): Promise<void> {
    let last = 0;
    await waitUntil(
      () => {
        if (Date.now() - last > 500) {
          last = Date.now();
          this.flush();
        }
        return this.bufferedChunks().length === 0 || !this.running;
      },
      timeoutMs,
      `${this.name} to write out its buffer (${this.bufferedChunks().length} chunks left)`,
    );
  }

  /** Everything it wrote to its outputs so far. */
  events(): WrittenEvent[] {
    return this.kind === 'fluentd' ? readFluentdOut(path.join(this.dir, 'out')) : readFluentBitOut(path.join(this.dir, 'out'));
  }

  async close(): Promise<void> {
    await this.stop('SIGKILL');
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---- reading what the receiver wrote --------------------------------------------------------------

export interface WrittenEvent {
  tag: string;
  time: { sec: number; nsec: number };
  record: Record<string, unknown>;
  file: string;
}

function files(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...files(p));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

/** Fluentd's `YYYY-MM-DDTHH:MM:SS.NNNNNNNNN` (UTC) as EventTime parts, without Date's millisecond rounding. */
export function parseNanoTime(s: string): { sec: number; nsec: number } {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{9})$/.exec(s);
  if (!m) throw new Error(`not a nanosecond time: ${s}`);
  return { sec: Date.parse(m[1] + 'Z') / 1000, nsec: Number(m[2]) };
}

/** The JSON lines Fluentd's out_file wrote (fluentdConfig's format), tag and time taken back out. */
export function readFluentdOut(dir: string): WrittenEvent[] {
  const out: WrittenEvent[] = [];
  for (const f of files(dir)) {
    for (const line of fs.readFileSync(f, 'utf8').split('\n')) {
      if (!line) continue;
      const record = JSON.parse(line) as Record<string, unknown>;
      const tag = record[TAG_KEY] as string;
      const time = parseNanoTime(record[TIME_KEY] as string);
      delete record[TAG_KEY];
      delete record[TIME_KEY];
      out.push({ tag, time, record, file: f });
    }
  }
  return out;
}

const timeCodec = new ExtensionCodec();
timeCodec.register({
  type: 0,
  encode: () => null,
  decode: (d: Uint8Array) => {
    const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
    return { sec: v.getUint32(0), nsec: v.getUint32(4), __t: true };
  },
});

/** Fluent Bit's out_file `format msgpack`: one file per tag of [time, record] (or [[time, meta], record]). */
export function readFluentBitOut(dir: string): WrittenEvent[] {
  const out: WrittenEvent[] = [];
  for (const f of files(dir)) {
    const tag = path.basename(f);
    for (const item of decodeMulti(fs.readFileSync(f), { extensionCodec: timeCodec, useBigInt64: true })) {
      const [head, record] = item as [unknown, Record<string, unknown>];
      const t = (Array.isArray(head) ? head[0] : head) as { sec: number; nsec: number; __t?: boolean } | number;
      const time = typeof t === 'object' && t?.__t ? { sec: t.sec, nsec: t.nsec } : { sec: Number(t), nsec: 0 };
      out.push({ tag, time, record: normaliseInts(record) as Record<string, unknown>, file: f });
    }
  }
  return out;
}

/** BigInt (64-bit ints from msgpack) back to numbers where exact, so records compare with JSON-parsed ones. */
function normaliseInts(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v;
  if (Array.isArray(v)) return v.map(normaliseInts);
  if (v && typeof v === 'object' && !(v instanceof Uint8Array)) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = normaliseInts(x);
    return o;
  }
  return v;
}
