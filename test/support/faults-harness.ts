/**
 * The fault suite's harness: one scenario = an in-process emulator (HTTPS, its own CA) behind the
 * recording front, an in-process forward receiver (shared key), a config file in a temp dir, and the
 * real CLI as a child process (`node dist/src/cli.js run --config FILE`, secrets via env).
 *
 * Accounting compares the emulator's ledger with what the receiver acknowledged, per content type,
 * up to the cursor the bridge saved (content after it is "not yet", not lost), and adds a row to the
 * table printed at the end of the suite.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator';
import { startFront, type Front } from './faults-front';
import { startReceiver, type Receiver, type ReceiverOptions } from './receiver';

const HOUR = 3_600_000;
/** Known values that must never show up in any output (the secret scan). */
export const KNOWN_SECRET = 'faults-Client-Secret-5d2e8c41a9f7';
export const KNOWN_SHARED_KEY = 'faults-Shared-Key-0b6f3e92c7d1';

export const CLI = path.resolve(__dirname, '../../src/cli.js');
export const FS_PRELOAD = path.resolve(__dirname, 'faults-fs-preload.js');
/** Longer variants (a receiver down for a whole minute, more kills) only with FAULTS_LONG=1. */
export const LONG = process.env.FAULTS_LONG === '1';

// ---- the table ---------------------------------------------------------------------------------

export interface Row {
  scenario: string;
  generated: number;
  delivered: number;
  duplicates: number;
  lost: number;
  /** Records the API itself lost (expired before fetched), or refused by policy; reported, not hidden. */
  lostAtSource: number;
  verdict: 'pass' | 'FAIL';
  note?: string;
}

export const rows: Row[] = [];

export function addRow(r: Row): void {
  const i = rows.findIndex((x) => x.scenario === r.scenario);
  if (i >= 0) rows[i] = r;
  else rows.push(r);
}

export function renderTable(list: Row[] = rows): string {
  const head = ['scenario', 'generated', 'delivered', 'duplicates', 'lost', 'lost at source', 'verdict', 'note'];
  const body = list.map((r) => [r.scenario, r.generated, r.delivered, r.duplicates, r.lost, r.lostAtSource, r.verdict, r.note ?? ''].map(String));
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => (i >= 1 && i <= 5 ? c.padStart(w[i]) : c.padEnd(w[i]))).join(' | ') + ' |';
  return [line(head), '|' + w.map((n, i) => (i >= 1 && i <= 5 ? '-'.repeat(n + 1) + ':' : '-'.repeat(n + 2))).join('|') + '|', ...body.map(line)].join('\n');
}

/**
 * Registers a root `after` hook that prints the rows not printed yet. Call at the top of each faults
 * test file. Run serially, all files share one root suite: the first hook prints every row, the rest
 * find none. Run with --parallel, each file runs alone in a worker and prints its own rows.
 */
export function printTableAtEnd(): void {
  after(() => {
    const fresh = rows.filter((r) => !printed.has(r));
    if (fresh.length === 0) return;
    for (const r of fresh) printed.add(r);
    process.stdout.write('\n  fault suite — ledger vs receiver acknowledgements\n\n' + renderTable(fresh) + '\n\n');
  });
}
const printed = new WeakSet<Row>();

// ---- helpers -----------------------------------------------------------------------------------

export async function waitUntil(pred: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isObj(v) && isObj(out[k]) ? merge(out[k] as Record<string, unknown>, v) : v;
  return out;
}

// ---- the child process -------------------------------------------------------------------------

export class ChildRun {
  readonly child: ChildProcess;
  out = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitInfo?: { code: number | null; signal: NodeJS.Signals | null };

  constructor(args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => (this.out += d.toString('utf8')));
    this.child.stderr!.on('data', (d: Buffer) => (this.out += d.toString('utf8')));
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  count(re: RegExp): number {
    const g = new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g');
    return (this.out.match(g) ?? []).length;
  }

  /** Log lines (JSON) that parse, optionally filtered by message. */
  logs(msg?: string): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    for (const l of this.out.split('\n')) {
      if (!l.startsWith('{')) continue;
      try {
        const o = JSON.parse(l) as Record<string, unknown>;
        if (msg === undefined || o.msg === msg) out.push(o);
      } catch {
        /* not a log line */
      }
    }
    return out;
  }

  async waitForLog(re: RegExp, count = 1, timeoutMs = 60_000): Promise<void> {
    await waitUntil(() => this.count(re) >= count || !this.running, timeoutMs, `${count}× ${re} in the child's log`);
    if (this.count(re) < count) throw new Error(`child exited (${JSON.stringify(this.exitInfo)}) before logging ${re}:\n${this.out.slice(-3000)}`);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill(signal);
    return this.exited;
  }

  async finish(timeoutMs = 90_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const t = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(t);
    }
  }
}

// ---- a scenario ----------------------------------------------------------------------------------

export interface ScenarioOptions {
  emulator?: EmulatorOptions;
  receiver?: ReceiverOptions;
  contentTypes?: string[];
  /** Deep-merged over the default config. */
  config?: Record<string, unknown>;
  /** Extra PEM (e.g. nothing) appended to the CA file. */
}

export interface Accounting {
  row: Row;
  /** Ids the source offered (fetchable) and the receiver never acknowledged. */
  missing: string[];
  lostAtSourceIds: string[];
  /** Records the API itself served twice (same Id in two blobs): only the in-memory dedup drops them. */
  sourceDuplicates: number;
}

export class Scenario {
  readonly dir: string;
  readonly stateDir: string;
  readonly configFile: string;
  readonly runs: ChildRun[] = [];
  readonly tenantId = randomUUID();
  readonly clientId = randomUUID();
  readonly startedAt = Date.now();
  emu!: Emulator;
  front!: Front;
  rx!: Receiver;
  contentTypes: string[] = ['Audit.General', 'Audit.Exchange'];
  config: Record<string, unknown> = {};
  historyHours = 4;

  constructor(readonly name: string) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'o365fb-faults-'));
    this.stateDir = path.join(this.dir, 'state');
    this.configFile = path.join(this.dir, 'config.json');
  }

  static async start(name: string, o: ScenarioOptions = {}): Promise<Scenario> {
    const s = new Scenario(name);
    try {
      await s.init(o);
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  private async init(o: ScenarioOptions): Promise<void> {
    if (o.contentTypes) this.contentTypes = o.contentTypes;
    this.historyHours = o.emulator?.historyHours ?? 4;
    this.emu = await startEmulator({
      https: true,
      seed: this.name,
      profile: 'clean',
      historyHours: this.historyHours,
      recordsPerBlob: 10,
      recordsPerHour: Object.fromEntries(this.contentTypes.map((ct) => [ct, 120])),
      ...o.emulator,
      tenants: [{ tenantId: this.tenantId, clientId: this.clientId, clientSecret: KNOWN_SECRET }],
    });
    this.front = await startFront(this.emu);
    this.rx = await startReceiver({ sharedKey: KNOWN_SHARED_KEY, ...o.receiver });
    fs.writeFileSync(path.join(this.dir, 'ca.pem'), this.emu.ca!);
    this.config = merge(
      {
        tenants: [
          {
            id: this.tenantId,
            name: 't0',
            cloud: 'custom',
            authorityUrl: this.front.url,
            apiUrl: this.front.url,
            clientId: this.clientId,
            clientSecret: { env: 'FAULTS_CLIENT_SECRET' },
            contentTypes: this.contentTypes,
          },
        ],
        http: { caFile: 'ca.pem', timeoutSeconds: 15, requestsPerMinute: 60000 },
        poll: { once: true, initialLookbackHours: this.historyHours + 2, trailingWindowMinutes: 30, blobConcurrency: 4, intervalSeconds: 10 },
        sink: { type: 'forward', host: '127.0.0.1', port: this.rx.port, ackTimeoutSeconds: 5, sharedKey: { env: 'FAULTS_SHARED_KEY' } },
        stateDir: 'state',
        log: { level: 'info' },
      },
      o.config ?? {},
    );
    this.writeConfig();
  }

  writeConfig(patch?: Record<string, unknown>): void {
    if (patch) this.config = merge(this.config, patch);
    fs.writeFileSync(this.configFile, JSON.stringify(this.config, null, 2));
  }

  /** Starts the CLI; `env` adds to (or, with undefined values, removes from) the child's environment. */
  spawn(env: Record<string, string | undefined> = {}, args: string[] = ['run', '--config', this.configFile]): ChildRun {
    const e: NodeJS.ProcessEnv = { ...process.env, FAULTS_CLIENT_SECRET: KNOWN_SECRET, FAULTS_SHARED_KEY: KNOWN_SHARED_KEY, ...env };
    delete e.NODE_OPTIONS;
    if (env.NODE_OPTIONS) e.NODE_OPTIONS = env.NODE_OPTIONS;
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete e[k];
    const run = new ChildRun(args, e);
    this.runs.push(run);
    return run;
  }

  /** Runs the CLI to its end (poll.once) and returns it. */
  async runToEnd(env: Record<string, string | undefined> = {}, timeoutMs = 90_000): Promise<ChildRun> {
    const r = this.spawn(env);
    await r.finish(timeoutMs);
    return r;
  }

  checkpoint(contentType: string): { cursor: string | null; lost: Array<{ contentId: string; code: string }>; recent: Array<[string, string]> } | null {
    const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0'));
    const f = path.join(this.stateDir, `checkpoint.${safe(this.tenantId)}.${safe(contentType)}.json`);
    if (!fs.existsSync(f)) return null;
    return JSON.parse(fs.readFileSync(f, 'utf8')) as ReturnType<Scenario['checkpoint']>;
  }

  /** Whether every content type's cursor has reached `t` (ms). */
  cursorsAtLeast(t: number): boolean {
    return this.contentTypes.every((ct) => {
      const cp = this.checkpoint(ct);
      return !!cp?.cursor && Date.parse(cp.cursor) >= t;
    });
  }

  /**
   * Ledger vs receiver, per content type up to the saved cursor. `extra` adds records the source
   * offered outside the emulator (hostile blobs served by the front); `refused` are records the
   * bridge was right to refuse (over the size limit, foreign host): reported with lost-at-source.
   */
  account(o: { note?: string; extra?: string[]; refused?: number; maxDuplicates?: number; /** Records of blobs the bridge recorded lost (given up): lost at source, not missing. */ givenUp?: Iterable<string> } = {}): Accounting {
    const from = this.startedAt - (this.historyHours + 1) * HOUR;
    const available = new Set<string>(o.extra ?? []);
    const everything = new Set<string>(o.extra ?? []);
    let sourceDuplicates = 0;
    for (const ct of this.contentTypes) {
      const cp = this.checkpoint(ct);
      if (!cp?.cursor) continue;
      const to = Date.parse(cp.cursor);
      const all = this.emu.ledger.recordIds(this.tenantId, from, to, { contentType: ct, asOf: to, includeExpired: true });
      const ok = this.emu.ledger.recordIds(this.tenantId, from, to, { contentType: ct, asOf: to });
      for (const id of [...all.valid, ...all.invalid]) everything.add(id);
      for (const id of [...ok.valid, ...ok.invalid]) available.add(id);
      sourceDuplicates += ok.duplicates;
    }
    for (const id of o.givenUp ?? []) available.delete(id);
    const acked = this.rx.ackedIds();
    let receipts = 0;
    const seen = new Set<string>();
    for (const e of this.rx.events) {
      const id = e.record?.Id;
      if (typeof id === 'string' && everything.has(id)) {
        receipts++;
        seen.add(id);
      }
    }
    const missing = [...available].filter((id) => !acked.has(id));
    const lostAtSourceIds = [...everything].filter((id) => !available.has(id));
    let delivered = 0;
    for (const id of everything) if (acked.has(id)) delivered++;
    const duplicates = receipts - seen.size;
    const ok = missing.length === 0 && available.size > 0 && (o.maxDuplicates === undefined || duplicates <= o.maxDuplicates);
    const row: Row = {
      scenario: this.name,
      generated: everything.size + (o.refused ?? 0),
      delivered,
      duplicates,
      lost: missing.length,
      lostAtSource: lostAtSourceIds.length + (o.refused ?? 0),
      verdict: ok ? 'pass' : 'FAIL',
      note: o.note,
    };
    addRow(row);
    return { row, missing, lostAtSourceIds, sourceDuplicates };
  }

  /** The most times one record reached the receiver. */
  maxReceiptsPerRecord(): number {
    const n = new Map<string, number>();
    let max = 0;
    for (const e of this.rx.events) {
      const id = e.record?.Id;
      if (typeof id !== 'string') continue;
      const c = (n.get(id) ?? 0) + 1;
      n.set(id, c);
      if (c > max) max = c;
    }
    return max;
  }

  /** Every known secret and every token seen on the wire, found anywhere it must not be. */
  secretLeaks(): string[] {
    const needles = [KNOWN_SECRET, KNOWN_SHARED_KEY, ...this.front.tokens].filter((s) => s.length >= 8);
    const leaks: string[] = [];
    // A scan without the tokens would prove little: every run that authenticated must have shown one.
    if (this.front.tokensIssued > 0 && this.front.tokens.size === 0) leaks.push('no token was captured: the scan would be blind');
    const scan = (where: string, text: string) => {
      for (const n of needles) if (text.includes(n)) leaks.push(`${where} contains ${n === KNOWN_SECRET ? 'the client secret' : n === KNOWN_SHARED_KEY ? 'the shared key' : 'a bearer token'}`);
    };
    this.runs.forEach((r, i) => scan(`run ${i + 1} output`, r.out));
    for (const e of this.rx.events) scan(`event ${e.tag}`, JSON.stringify(e.record));
    const walk = (d: string) => {
      if (!fs.existsSync(d)) return;
      for (const name of fs.readdirSync(d)) {
        const p = path.join(d, name);
        const st = fs.statSync(p);
        if (st.isDirectory()) walk(p);
        else if (st.isFile()) scan(`state file ${name}`, fs.readFileSync(p, 'utf8'));
      }
    };
    walk(this.stateDir);
    scan('config file', fs.readFileSync(this.configFile, 'utf8'));
    return leaks;
  }

  async close(): Promise<void> {
    for (const r of this.runs) if (r.running) await r.stop('SIGKILL');
    await this.rx?.stop();
    await this.front?.stop();
    await this.emu?.stop();
    // The state dir may have been made read-only by a test.
    try {
      fs.chmodSync(this.stateDir, 0o755);
    } catch {
      /* absent */
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The verdict every delivery scenario shares: nothing the source offered is missing from the
 * receiver's acknowledgements, duplicates within the bound, no secret anywhere. `noLossAtSource`
 * also requires that the source itself lost nothing.
 */
export function expectClean(sc: Scenario, o: { note?: string; maxDuplicates?: number; noLossAtSource?: boolean } = {}) {
  const a = sc.account(o);
  assert.deepEqual(a.missing, [], `${sc.name}: records the source offered and the receiver never acknowledged`);
  if (o.noLossAtSource) assert.equal(a.lostAtSourceIds.length, 0);
  if (o.maxDuplicates !== undefined) assert.ok(a.row.duplicates <= o.maxDuplicates, `duplicates ${a.row.duplicates} > ${o.maxDuplicates}`);
  assert.deepEqual(sc.secretLeaks(), []);
  return a;
}
