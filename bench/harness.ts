/**
 * What the scenarios share: run tiers and sizes, starting the services and bridge children, the
 * content mix, and the figures' formatting. Scenarios print figures and ratios; nothing here passes
 * or fails on a time.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Child } from './proc';
import type { BridgeRunArgs, BridgeRunResult } from './bridge-child';
import type { GcCounts } from './proc';
import type { ServicesCounts, ServicesInfo, ServicesStart } from './services';

export type Tier = 'quick' | 'default' | 'full';

export interface BenchContext {
  tier: Tier;
  /** Write a V8 CPU profile of the bridge child into this directory. */
  cpuProfDir?: string;
  log(line: string): void;
}

/** One row of the summary table. */
export interface Row {
  scenario: string;
  metric: string;
  value: string;
  /** Baseline or target it is compared with, in words. */
  against?: string;
  ratio?: string;
}

export interface ScenarioResult {
  name: string;
  /** What was run (sizes), printed with the figures. */
  ran: string;
  rows: Row[];
  notes?: string[];
}

export interface Scenario {
  name: string;
  title: string;
  run(ctx: BenchContext): Promise<ScenarioResult>;
}

export const CONTENT_TYPES = ['Audit.AzureActiveDirectory', 'Audit.Exchange', 'Audit.SharePoint', 'Audit.General', 'DLP.All'] as const;

/**
 * A realistic share of the backlog per content type: Exchange and SharePoint carry most, Azure AD
 * sign-ins next; Audit.General holds the Defender for Office 365 types (28, 41, 47, 64) with Teams,
 * Forms, Power BI and the rest; DLP is the smallest.
 */
export const CONTENT_MIX: Record<(typeof CONTENT_TYPES)[number], number> = {
  'Audit.AzureActiveDirectory': 0.2,
  'Audit.Exchange': 0.3,
  'Audit.SharePoint': 0.25,
  'Audit.General': 0.2,
  'DLP.All': 0.05,
};

/** recordsPerHour for only the given content types (the emulator's profile rates fill in any left out). */
export function onlyRates(rates: Partial<Record<(typeof CONTENT_TYPES)[number], number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const ct of CONTENT_TYPES) out[ct] = rates[ct] ?? 0;
  return out;
}

/** recordsPerHour per content type for `total` records over `hours`. */
export function ratesFor(total: number, hours: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const ct of CONTENT_TYPES) out[ct] = Math.max(1, Math.round((total * CONTENT_MIX[ct]) / hours));
  return out;
}

export function pick<T>(tier: Tier, sizes: Record<Tier, T>): T {
  return sizes[tier];
}

export async function startServices(opts: ServicesStart): Promise<{ child: Child; info: ServicesInfo }> {
  const child = Child.start('services.js', 'services');
  const info = await child.call<ServicesInfo>('start', opts);
  return { child, info };
}

export function counts(services: Child): Promise<ServicesCounts> {
  return services.call<ServicesCounts>('counts');
}

/**
 * The V8 flags the deployment examples set (deploy/: NODE_OPTIONS), given to the bridge and the floor
 * alike so both are measured as deployed. BENCH_NODE_FLAGS overrides them ('' for Node's defaults).
 */
export const MEASURED_NODE_FLAGS: string[] = (process.env.BENCH_NODE_FLAGS ?? '--max-semi-space-size=4').split(' ').filter(Boolean);

/**
 * Node's own defaults: the memory targets are stated for them (a user who sets no NODE_OPTIONS).
 * With them the young generation may grow to 3 × 16 MiB semi-spaces, so RSS is what it would be.
 */
export const DEFAULT_NODE_FLAGS: string[] = [];

/**
 * Runs one bridge pass in a fresh child process and returns its figures (the child then exits).
 * `nodeFlags` replaces MEASURED_NODE_FLAGS (the memory scenarios run with Node's defaults).
 */
export async function runBridge(ctx: BenchContext, args: BridgeRunArgs, label: string, nodeFlags: string[] = MEASURED_NODE_FLAGS): Promise<BridgeRunResult> {
  // For a look inside (not a figure): BENCH_BRIDGE_ENV='K=V K=V' is added to the bridge child's environment only.
  const env = Object.fromEntries((process.env.BENCH_BRIDGE_ENV ?? '').split(' ').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  const child = Child.start('bridge-child.js', `bridge(${label})`, { execArgv: nodeFlags, env });
  try {
    return await child.call<BridgeRunResult>('run', { ...args, profileFile: profileFile(ctx, `bridge-${label}`) });
  } finally {
    await child.stop(30_000);
  }
}

/** Where a child writes the CPU profile of its measured work (`<prefix>-<time>.cpuprofile`), when profiling is on. */
export function profileFile(ctx: BenchContext, prefix: string): string | undefined {
  return ctx.cpuProfDir ? path.join(ctx.cpuProfDir, `${prefix}-${Date.now()}.cpuprofile`) : undefined;
}

/** The bridge config every scenario starts from: defaults, forward sink to the bench receiver. */
export function bridgeOverrides(info: ServicesInfo, poll: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  // BENCH_OVERRIDES='{"sink":{...},"poll":{...}}': experiments only, never a printed figure's settings.
  const x = process.env.BENCH_OVERRIDES ? (JSON.parse(process.env.BENCH_OVERRIDES) as Record<string, Record<string, unknown>>) : {};
  return {
    poll: { once: true, ...poll, ...x.poll },
    sink: { type: 'forward', host: '127.0.0.1', port: info.receiverPort, ackTimeoutSeconds: 60, ...x.sink },
    log: { level: 'error' },
    ...extra,
  };
}

// ---- formatting -----------------------------------------------------------------------------------

export const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
export const fmt = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
export const mib = (n: number): string => `${fmt(n, 0)} MiB`;

/** Flags as printed next to a figure. */
export function flagsText(flags: string[]): string {
  return flags.length ? flags.join(' ') : "Node's default flags";
}

/** GC counts per 100k records, as `--trace-gc` would count them (scavenges / mark-compacts). */
export function gcText(gc: GcCounts, records: number): string {
  const per = (n: number) => fmt((n / Math.max(1, records)) * 1e5, 1);
  return `GC per 100k records: ${per(gc.minor)} scavenges, ${per(gc.major)} mark-compacts (${per(gc.incremental)} incremental marking rounds), ${fmt((gc.pauseMs / Math.max(1, records)) * 1e5, 0)} ms paused`;
}

/** The p-th percentile (0..100) by nearest rank. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function resultsDir(): string {
  // dist/bench → <root>/bench/results (and .build/<name>/bench alike).
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return path.join(dir, 'bench', 'results');
    dir = path.dirname(dir);
  }
  return path.resolve(__dirname, 'results');
}
