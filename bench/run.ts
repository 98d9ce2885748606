/**
 * `npm run bench [-- --quick | --full] [--scenario NAME] [--cpu-prof]`: the bridge's speed and
 * memory, measured the same way every time (issue 7). Prints figures and ratios against each
 * scenario's baseline or target, never pass/fail on a time, and writes the summary table to
 * bench/results/latest.md.
 *
 * Tiers: --quick (about a minute; CI runs it so the bench never rots), default (under 5 minutes on 2
 * cores: the 5M-record memory backlog is scaled down), --full (the sizes issue 7 names).
 * --cpu-prof writes V8 CPU profiles of the bridge children and prints their top functions.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { run as runValidation } from './validation';
import { MEASURED_NODE_FLAGS, resultsDir, type BenchContext, type Row, type Scenario, type ScenarioResult, type Tier } from './harness';
import { summarizeProfiles } from './profile';
import { apiBound } from './scenarios/api-bound';
import { manyTenants } from './scenarios/tenants';
import { memory } from './scenarios/memory';
import { throughput } from './scenarios/throughput';
import { receivers } from './scenarios/receivers';
import { plugin } from './scenarios/plugin';
import { largeBlobs } from './scenarios/large-blobs';
import { steady } from './scenarios/steady';
import { encoders } from './scenarios/encoders';
import { reconcile } from './scenarios/reconcile';
import { smallBlobs } from './scenarios/small-blobs';

const validation: Scenario = {
  name: 'validation',
  title: '0. Validation vs JSON.parse',
  async run(ctx) {
    const r = await runValidation({ quick: ctx.tier === 'quick' });
    return {
      name: 'validation',
      ran: `${r.records} Defender records (28/41/47/64), best of ${ctx.tier === 'quick' ? 2 : 5} rounds`,
      rows: [
        { scenario: '0 validation', metric: 'parse+validate records/s', value: r.parse_validate_records_per_s.toLocaleString('en-US') },
        { scenario: '0 validation', metric: 'validate/parse', value: String(r.ratio), against: 'target >= 0.5', ratio: String(r.ratio) },
      ],
    };
  },
};

export const SCENARIOS: Scenario[] = [validation, encoders, throughput, memory, apiBound, manyTenants, largeBlobs, smallBlobs, steady, receivers, plugin, reconcile];
const ALIASES: Record<string, string> = { e2e: 'throughput', floor: 'throughput', 'api-bound': 'api', api: 'api', tenants: 'tenants', latency: 'steady', blobs: 'large-blobs', encoder: 'encoders' };

interface Args {
  tier: Tier;
  only?: string;
  cpuProf: boolean;
  out?: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { tier: 'default', cpuProf: false };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    if (x === '--quick') a.tier = 'quick';
    else if (x === '--full') a.tier = 'full';
    else if (x === '--cpu-prof') a.cpuProf = true;
    else if (x === '--scenario') a.only = argv[++i];
    else if (x.startsWith('--scenario=')) a.only = x.slice('--scenario='.length);
    else if (x === '--out') a.out = argv[++i];
    else if (x === '--help' || x === '-h') {
      process.stdout.write(
        `usage: npm run bench -- [--quick | --full] [--scenario ${SCENARIOS.map((s) => s.name).join('|')}] [--cpu-prof] [--out FILE]\n`,
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${x}; see --help`);
  }
  if (a.only) {
    const name = ALIASES[a.only] ?? a.only;
    if (!SCENARIOS.some((s) => s.name === name)) throw new Error(`unknown scenario ${a.only}; one of ${SCENARIOS.map((s) => s.name).join(', ')}`);
    a.only = name;
  }
  return a;
}

/** Other work on the machine skews every rate: printed with each scenario. */
function loadavg(): string {
  return os.loadavg().map((x) => x.toFixed(2)).join(' ');
}

function machine(): string {
  const cpus = os.cpus();
  return `${os.availableParallelism?.() ?? cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version} (bridge and floor with ${MEASURED_NODE_FLAGS.join(' ') || 'default V8 flags'}), ${os.platform()} ${os.release()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM`;
}

export function table(rows: Row[]): string {
  const head = ['Scenario', 'Metric', 'Value', 'Against', 'Ratio'];
  const cells = rows.map((r) => [r.scenario, r.metric, r.value, r.against ?? '', r.ratio ?? '']);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(w[i])).join(' | ')} |`;
  return [line(head), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const profDir = args.cpuProf ? fs.mkdtempSync(path.join(os.tmpdir(), 'o365fb-prof-')) : undefined;
  const ctx: BenchContext = { tier: args.tier, cpuProfDir: profDir, log: (l) => console.log(l) };
  const header = `o365-fluent-bridge bench — tier ${args.tier}${args.only ? `, scenario ${args.only}` : ''} — ${machine()}`;
  console.log(header);
  const results: ScenarioResult[] = [];
  const failures: string[] = [];
  for (const s of SCENARIOS) {
    if (args.only && s.name !== args.only) continue;
    console.log(`\n== ${s.title}  (load average ${loadavg()})`);
    const t0 = Date.now();
    try {
      const r = await s.run(ctx);
      results.push(r);
      console.log(`  ran: ${r.ran} (${((Date.now() - t0) / 1000).toFixed(0)} s; load average after ${loadavg()})`);
      for (const n of r.notes ?? []) console.log(`  note: ${n}`);
    } catch (e) {
      // A broken scenario is reported and the others still run; the exit code says so (CI).
      failures.push(`${s.name}: ${(e as Error).stack ?? e}`);
      console.log(`  FAILED: ${(e as Error).message}`);
    }
  }
  let profile = '';
  if (profDir) {
    profile = summarizeProfiles(profDir, 20, 'bridge-');
    console.log(`\n== CPU profile of the bridge children (self time; files in ${profDir})\n${profile}`);
    const floor = summarizeProfiles(profDir, 12, 'floor-');
    if (!floor.startsWith('(no')) console.log(`\n== CPU profile of the floor (self time)\n${floor}`);
  }
  const rows = results.flatMap((r) => r.rows);
  const md = [
    `# Bench results`,
    '',
    `${header}; ${new Date().toISOString()}; ${((Date.now() - started) / 1000).toFixed(0)} s total.`,
    '',
    table(rows),
    '',
    ...results.map((r) => `- ${r.name}: ${r.ran}${(r.notes ?? []).map((n) => `; note: ${n}`).join('')}`),
    ...(failures.length ? ['', 'Failed:', ...failures.map((f) => `- ${f.split('\n')[0]}`)] : []),
    ...(profile ? ['', '## CPU profile (bridge, self time)', '', '```', profile, '```'] : []),
    '',
  ].join('\n');
  console.log(`\n== Summary (${((Date.now() - started) / 1000).toFixed(0)} s)\n${table(rows)}`);
  // Only a whole default or --full run replaces the committed snapshot; --quick and single scenarios
  // (CI, experiments) go to the temp dir unless --out says otherwise.
  const snapshot = !args.only && args.tier !== 'quick';
  const out = args.out ?? (snapshot ? path.join(resultsDir(), 'latest.md') : path.join(os.tmpdir(), `o365fb-bench-${args.tier}${args.only ? `-${args.only}` : ''}.md`));
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, md);
  console.log(`\nwritten to ${path.relative(process.cwd(), out) || out}`);
  if (failures.length) {
    for (const f of failures) console.error(f);
    process.exitCode = 1;
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
