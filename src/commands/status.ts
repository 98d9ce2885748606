/**
 * `o365-fluent-bridge status --config FILE [--json]`: what the state directory says, per tenant and content
 * type: the checkpoint cursor and its lag, the counts of the last run, lost (expired) blobs and lost
 * records (refused by the sink even reduced), each with its Id.
 * Read-only and lock-free, so it is safe to run next to a running bridge.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, parseConfigText, validateConfigObject } from '../config/load';
import { CheckpointStore, type Checkpoint } from '../state/checkpoint';
import { isBridgeError } from '../errors';
import { formatDuration } from '../obs/progress';
import { EXIT_MEANING } from './exit-codes';
import { readHealthFile, type HealthFile } from './health-file';
import { readLastSweep, type SweepRecord } from '../state/delivered-blobs';

const USAGE = 'usage: o365-fluent-bridge status --config FILE [--json]';
/** Lost blobs listed under the table (all of them are in --json). */
const MAX_LOST_SHOWN = 20;

export interface StatusTenant {
  id: string;
  name?: string;
  contentTypes: readonly string[];
}

export interface StatusDeps {
  loadConfig?: (file: string) => Promise<{ stateDir: string; tenants: readonly StatusTenant[] }>;
  listCheckpoints?: (stateDir: string) => Promise<Checkpoint[]>;
  /** issue-14: the last reconciliation sweep of a (tenant, content type), from the state dir. */
  loadSweep?: (stateDir: string, tenantId: string, contentType: string) => Promise<SweepRecord | undefined>;
  now?: () => Date;
  /** The last pass's verdict per tenant (health.json, written by `run`). */
  readHealth?: (stateDir: string) => Promise<HealthFile | null>;
  stdout?: (s: string) => void;
  stderr?: (s: string) => void;
}

export interface StatusEntry {
  tenantId: string;
  tenantName: string;
  contentType: string;
  /** False for a checkpoint in the state directory whose tenant/content type is no longer configured. */
  configured: boolean;
  hasCheckpoint: boolean;
  cursor: string | null;
  /** now − cursor in whole seconds; null without a cursor. */
  lagSeconds: number | null;
  checkpointUpdatedAt: string | null;
  lastRun: Checkpoint['lastRun'] | null;
  lost: Checkpoint['lost'];
  /** The last reconciliation sweep and what it found (late blobs); null before the first. */
  lastSweep: SweepRecord | null;
  /** Time ranges lost as a whole (the API no longer answered for them). */
  gaps: NonNullable<Checkpoint['gaps']>;
}

export interface StatusReport {
  generatedAt: string;
  stateDir: string;
  entries: StatusEntry[];
  /** Per configured tenant, the last pass's health: what /readyz said and `run --once` exited with. */
  health?: TenantHealthReport;
}

export interface TenantHealthReport {
  /** When the last pass finished; null when no pass was recorded. */
  at: string | null;
  exitCode: number | null;
  tenants: Array<{ id: string; name: string; health: string; code?: string; message?: string }>;
  receiver?: { code: string; message: string };
}

export async function main(argv: string[]): Promise<number> {
  return runStatus(argv);
}

export async function runStatus(argv: string[], deps: StatusDeps = {}): Promise<number> {
  const out = deps.stdout ?? ((s: string) => void process.stdout.write(s));
  const err = deps.stderr ?? ((s: string) => void process.stderr.write(s));
  const args = parseArgs(argv);
  if ('help' in args) {
    out(USAGE + '\n');
    return 0;
  }
  if ('error' in args) {
    err(`${args.error}\n${USAGE}\n`);
    return 2;
  }
  const load = deps.loadConfig ?? loadStatusConfig;
  // Read-only: no lock taken, so status works next to a running bridge that holds it.
  const list = deps.listCheckpoints ?? ((dir: string) => new CheckpointStore(dir, { readOnly: true }).list());
  try {
    const config = await load(args.config);
    const checkpoints = await list(config.stateDir);
    const report = buildReport(config, checkpoints, (deps.now ?? (() => new Date()))());
    report.health = tenantHealth(config.tenants, await (deps.readHealth ?? readHealthFile)(config.stateDir));
    // issue-14: the last sweep per entry (its own file beside the checkpoint).
    const loadSweep = deps.loadSweep ?? readLastSweep;
    for (const e of report.entries) e.lastSweep = (await loadSweep(config.stateDir, e.tenantId, e.contentType)) ?? null;
    out(args.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report) + formatTenantHealth(report.health));
    return 0;
  } catch (e) {
    if (isBridgeError(e)) {
      err(`error ${e.code}: ${e.message}\n`);
      const problems = (e as Partial<ConfigError>).problems;
      if (problems && problems.length > 1) err(problems.map((p) => `  ${p}\n`).join(''));
      // Same convention as the other commands: a config that can't be used is exit code 2.
      return e.code.startsWith('CONFIG_') ? 2 : 1;
    }
    throw e;
  }
}

/**
 * The parts of the config status needs (state dir, tenants), validated like `run` does but without
 * resolving secrets: an operator can look at the state without the service's credentials.
 */
export async function loadStatusConfig(file: string): Promise<{ stateDir: string; tenants: StatusTenant[] }> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError('CONFIG_UNREADABLE', file, [`${file}: cannot read the config file (${code}); check the path and its permissions`]);
  }
  const raw = validateConfigObject(parseConfigText(text, file), file);
  return {
    stateDir: path.resolve(path.dirname(path.resolve(file)), raw.stateDir),
    tenants: raw.tenants.map((t) => ({ id: t.id, name: t.name ?? t.id, contentTypes: t.contentTypes })),
  };
}

type Args = { config: string; json: boolean } | { error: string } | { help: true };

function parseArgs(argv: string[]): Args {
  let config: string | undefined;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') return { help: true };
    else if (a === '--json') json = true;
    else if (a === '--config' || a === '-c') {
      config = argv[++i];
      if (!config) return { error: '--config needs a file name' };
    } else if (a.startsWith('--config=')) config = a.slice('--config='.length);
    else return { error: `unknown argument "${a}"` };
  }
  if (!config) return { error: 'missing --config FILE' };
  return { config, json };
}

/** Configured (tenant, content type) pairs in config order, then checkpoints nobody configures any more. */
export function buildReport(config: { stateDir: string; tenants: readonly StatusTenant[] }, checkpoints: Checkpoint[], now: Date): StatusReport {
  const key = (t: string, c: string) => `${t}\u0000${c}`;
  const byKey = new Map(checkpoints.map((c) => [key(c.tenantId, c.contentType), c]));
  const names = new Map(config.tenants.map((t) => [t.id, t.name ?? t.id]));
  const entries: StatusEntry[] = [];
  const entry = (tenantId: string, contentType: string, configured: boolean, cp: Checkpoint | undefined): StatusEntry => {
    const cursorMs = cp?.cursor ? Date.parse(cp.cursor) : Number.NaN;
    return {
      tenantId,
      tenantName: names.get(tenantId) ?? tenantId,
      contentType,
      configured,
      hasCheckpoint: cp !== undefined,
      cursor: cp?.cursor ?? null,
      lagSeconds: Number.isFinite(cursorMs) ? Math.max(0, Math.round((now.getTime() - cursorMs) / 1000)) : null,
      checkpointUpdatedAt: cp?.updatedAt ?? null,
      lastRun: cp?.lastRun ?? null,
      lost: cp?.lost ?? [],
      lastSweep: null,
      gaps: cp?.gaps ?? [],
    };
  };
  for (const t of config.tenants) {
    for (const ct of t.contentTypes) {
      const k = key(t.id, ct);
      entries.push(entry(t.id, ct, true, byKey.get(k)));
      byKey.delete(k);
    }
  }
  const orphans = [...byKey.values()].sort((a, b) => a.tenantId.localeCompare(b.tenantId) || a.contentType.localeCompare(b.contentType));
  for (const cp of orphans) entries.push(entry(cp.tenantId, cp.contentType, false, cp));
  return { generatedAt: now.toISOString(), stateDir: config.stateDir, entries };
}

export function formatReport(r: StatusReport): string {
  const header = ['TENANT', 'CONTENT TYPE', 'CURSOR', 'LAG', 'LAST RUN', 'BLOBS', 'RECORDS', 'EVENTS', 'INVALID', 'DUPS', 'LOST'];
  const rows = r.entries.map((e) => {
    const lr = e.lastRun;
    const n = (v: number | undefined) => (lr && v !== undefined ? String(v) : '-');
    return [
      e.tenantName + (e.configured ? '' : ' (not configured)'),
      e.contentType,
      e.hasCheckpoint ? (e.cursor ?? 'none') : 'no checkpoint',
      e.lagSeconds === null ? '-' : formatDuration(e.lagSeconds),
      lr ? shortTime(lr.updatedAt ?? lr.startedAt) : '-',
      n(lr?.blobs),
      n(lr?.records),
      n(lr?.events),
      n(lr?.invalid),
      n(lr?.duplicates),
      String(e.lost.length + e.gaps.length),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i >= 5 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const lines = [`state directory: ${r.stateDir}   (at ${shortTime(r.generatedAt)})`, '', line(header), ...rows.map(line)];

  const all = r.entries.flatMap((e) => e.lost.map((l) => ({ e, l })));
  const blobs = all.filter((x) => x.l.recordId === undefined);
  const records = all.filter((x) => x.l.recordId !== undefined);
  const section = (title: string, list: typeof all, fmt: (x: (typeof all)[number]) => string) => {
    if (list.length === 0) return;
    list.sort((a, b) => String(b.l.at).localeCompare(String(a.l.at)));
    lines.push('', `${title}: ${list.length}`);
    for (const x of list.slice(0, MAX_LOST_SHOWN)) lines.push(fmt(x));
    if (list.length > MAX_LOST_SHOWN) lines.push(`  ... ${list.length - MAX_LOST_SHOWN} more (see --json)`);
  };
  section('lost blobs (expired or unreadable; their records were not delivered)', blobs, ({ e, l }) => `  ${e.tenantName}  ${e.contentType}  ${l.contentId}  created ${l.contentCreated}  ${l.code}  at ${l.at}`);
  section(
    'lost records (refused by the sink even in their reduced form; not delivered)',
    records,
    ({ e, l }) => `  ${e.tenantName}  ${e.contentType}  record ${l.recordId ?? '(no Id)'}  in ${l.contentId}  ${l.code}  at ${l.at}`,
  );
  lines.push(...formatSweeps(r));
  const gaps = r.entries.flatMap((e) => e.gaps.map((g) => ({ e, g })));
  if (gaps.length > 0) {
    gaps.sort((a, b) => String(b.g.at).localeCompare(String(a.g.at)));
    lines.push('', `lost time ranges (the API no longer answered for them; content created then was not delivered): ${gaps.length}`);
    for (const { e, g } of gaps.slice(0, MAX_LOST_SHOWN)) lines.push(`  ${e.tenantName}  ${e.contentType}  from ${g.from}  to ${g.to}  ${g.code}  at ${g.at}`);
    if (gaps.length > MAX_LOST_SHOWN) lines.push(`  ... ${gaps.length - MAX_LOST_SHOWN} more (see --json)`);
  }
  return lines.join('\n') + '\n';
}

/** issue-14: the last reconciliation sweep per entry, and the late blobs it found. */
function formatSweeps(r: StatusReport): string[] {
  const withSweep = r.entries.filter((e) => e.lastSweep);
  if (withSweep.length === 0) return [];
  const out = ['', 'reconciliation sweeps (re-list the retention for content listed late):'];
  for (const e of withSweep) {
    const sw = e.lastSweep!;
    const state = sw.complete ? 'complete' : `incomplete${sw.error ? ` (${sw.error})` : sw.failed ? ` (${sw.failed} blobs failed; retried sooner)` : ''}`;
    out.push(
      `  ${e.tenantName}  ${e.contentType}  last ${shortTime(sw.startedAt)}  ${shortTime(sw.from)} .. ${shortTime(sw.to)}  listed ${sw.listed}  late ${sw.late}  (all sweeps: ${sw.lateTotal})  ${state}`,
    );
  }
  const late = withSweep.flatMap((e) => e.lastSweep!.lateBlobs.map((b) => ({ e, b }))).sort((a, b) => b.b.foundAt.localeCompare(a.b.foundAt));
  if (late.length > 0) {
    out.push('', `late blobs found by the last sweeps (delivered now; they were listed late by the API): ${late.length}`);
    for (const { e, b } of late.slice(0, MAX_LOST_SHOWN)) {
      out.push(`  ${e.tenantName}  ${e.contentType}  ${b.contentId}  created ${b.contentCreated}  found ${shortTime(b.foundAt)}  late ${formatDuration(b.lateSeconds)}`);
    }
    if (late.length > MAX_LOST_SHOWN) out.push(`  ... ${late.length - MAX_LOST_SHOWN} more (see --json)`);
  }
  return out;
}

/** ISO time without milliseconds, for the table. */
function shortTime(iso: string | undefined): string {
  if (!iso) return '-';
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') : iso;
}

// ---- per-tenant health (the last pass's verdict, from health.json) ----------------------------------

/** Configured tenants in config order, each with what the last pass said of it ('unknown' before any). */
export function tenantHealth(tenants: readonly StatusTenant[], h: HealthFile | null): TenantHealthReport {
  return {
    at: h?.at ?? null,
    exitCode: h?.exitCode ?? null,
    tenants: tenants.map((t) => {
      const x = h?.tenants.find((y) => y.id === t.id);
      return x
        ? { id: t.id, name: t.name ?? t.id, health: x.health, ...(x.code ? { code: x.code, message: x.message } : {}) }
        : { id: t.id, name: t.name ?? t.id, health: 'unknown' };
    }),
    ...(h?.receiver ? { receiver: h.receiver } : {}),
  };
}

export function formatTenantHealth(r: TenantHealthReport): string {
  if (r.at === null) return '\ntenant health: no pass recorded yet (`run` writes it after each pass)\n';
  const lines = ['', `tenant health (last pass ${shortTime(r.at)}: exit ${r.exitCode}, ${EXIT_MEANING[r.exitCode ?? -1] ?? 'unknown'})`];
  const width = Math.max(8, ...r.tenants.map((t) => t.name.length));
  for (const t of r.tenants) {
    const mark = t.health === 'ok' ? '✔' : t.health === 'unknown' ? '?' : '✖';
    lines.push(`  ${t.name.padEnd(width)}  ${mark} ${t.health}${t.code ? `  ${t.code}: ${t.message ?? ''}` : ''}`.trimEnd());
  }
  if (r.receiver) lines.push(`  ${'receiver'.padEnd(width)}  ✖ ${r.receiver.code}: ${r.receiver.message}`);
  return lines.join('\n') + '\n';
}
