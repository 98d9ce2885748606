/**
 * `npm run demo`: the whole pipeline on the embedded emulator, with no setup. Starts the emulator
 * (HTTPS, its own CA) with a day of realistic data, runs one bridge pass against it with a real
 * config (loaded through the same schema and loader as `run`), and delivers to Fluentd on
 * 127.0.0.1:24224 (or --fluentd-port) when one listens there. Otherwise the events go to stdout as
 * JSON lines when stdout is a pipe (or with --stdout), and to a file when it is a terminal (or with
 * --out FILE): thousands of raw lines would scroll the summary away. On a terminal it ends with one
 * sample event per Defender record type, pretty-printed, the summary, and where the events went.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveConfig, validateConfigObject } from '../config/load';
import type { OutEvent, Sink } from '../contracts';
import { startEmulator } from '../emulator';
import type { Level } from '../obs/log';
import type { PassSummary } from '../bridge';
import { createSink, createStdoutSink } from '../sinks';
import { flagString, parseArgs } from './args';
import { tcpReachable } from './doctor';
import { runBridge, terminalOutput } from './run';
import { tuneHeap } from '../obs/heap';
import { boundYoungGeneration } from '../obs/young-gen';

export interface DemoOutput {
  /** Where the events go. */
  events: 'fluentd' | 'stdout' | 'file';
  /** Samples, and where the events went, after the summary: for a person at a terminal. */
  pretty: boolean;
}

/**
 * The one decision of the demo's output. Piped, or with --stdout, it is what it always was; on a
 * terminal, events go to a file (unless Fluentd takes them) and the screen gets samples and the summary.
 */
export function demoOutput(o: { stdoutIsTTY: boolean; stdoutFlag: boolean; outFile: boolean; fluentd: boolean }): DemoOutput {
  if (o.stdoutFlag) return { events: 'stdout', pretty: false };
  if (o.outFile) return { events: 'file', pretty: true };
  if (o.fluentd) return { events: 'fluentd', pretty: o.stdoutIsTTY };
  return o.stdoutIsTTY ? { events: 'file', pretty: true } : { events: 'stdout', pretty: false };
}

/** Defender for Office 365 record types, in the README's order. */
export const DEFENDER_TYPES: ReadonlyArray<[number, string]> = [
  [28, 'ThreatIntelligence'],
  [41, 'ThreatIntelligenceUrl'],
  [47, 'ThreatIntelligenceAtpContent'],
  [64, 'AirInvestigation'],
];

/** Passes every batch on, keeping the first event of each Defender record type (looked at once, when encoded). */
export function samplingSink(inner: Sink, samples: Map<number, OutEvent>): Sink {
  const wanted = new Set(DEFENDER_TYPES.map(([t]) => t));
  return {
    encode(events: OutEvent[]) {
      if (samples.size < wanted.size) {
        for (const e of events) {
          const rt = e.record.RecordType;
          if (typeof rt === 'number' && wanted.has(rt) && !samples.has(rt)) samples.set(rt, e);
        }
      }
      return inner.encode(events);
    },
    deliver: (b) => inner.deliver(b),
    release: (b) => inner.release(b),
    close: () => inner.close(),
  };
}

export function printSamples(samples: Map<number, OutEvent>, out: (line: string) => void): void {
  out('');
  out('sample events (one per Defender for Office 365 record type)');
  for (const [rt, name] of DEFENDER_TYPES) {
    const e = samples.get(rt);
    out('');
    if (!e) {
      out(`  RecordType ${rt} ${name}: none in this data`);
      continue;
    }
    out(`  ${e.tag}  (RecordType ${rt} ${name}, ${new Date(e.time.sec * 1000).toISOString()})`);
    for (const l of JSON.stringify(e.record, null, 2).split('\n')) out('    ' + l);
  }
}

export async function main(argv: string[]): Promise<number> {
  // As run does, first thing (the emulator's catalog would grow the young generation past the bound).
  tuneHeap();
  boundYoungGeneration();
  const args = parseArgs(argv, ['fluentd-port', 'hours', 'log-level', 'seed', 'out']);
  const port = Number(flagString(args, 'fluentd-port') ?? 24224);
  const hours = Math.min(168, Math.max(1, Number(flagString(args, 'hours') ?? 24)));
  const outArg = flagString(args, 'out');
  const fluentd = !args.flags.has('stdout') && !outArg && (await tcpReachable('127.0.0.1', port, 500)).ok;
  const choice = demoOutput({ stdoutIsTTY: Boolean(process.stdout.isTTY), stdoutFlag: args.flags.has('stdout'), outFile: outArg !== undefined, fluentd });
  const toFluentd = choice.events === 'fluentd';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-fluent-bridge-demo-'));
  const err = (s: string) => process.stderr.write(s + '\n');
  // The events file outlives the demo's working directory (state, CA), which is removed at the end.
  const eventsFile = choice.events === 'file' ? path.resolve(outArg ?? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'o365-fluent-bridge-demo-out-')), 'events.ndjson')) : undefined;

  const emu = await startEmulator({
    https: true,
    seed: flagString(args, 'seed') ?? 'demo',
    profile: 'realistic',
    tenants: 1,
    historyHours: hours,
    recordsPerHour: { 'Audit.General': 120, 'Audit.Exchange': 60, 'Audit.SharePoint': 60, 'Audit.AzureActiveDirectory': 60, 'DLP.All': 10 },
  });
  try {
    const tenant = emu.tenants[0];
    const caFile = path.join(dir, 'emulator-ca.pem');
    fs.writeFileSync(caFile, emu.ca ?? '');
    const raw = validateConfigObject(
      {
        tenants: [
          {
            id: tenant.tenantId,
            name: 'demo',
            cloud: 'custom',
            authorityUrl: emu.url,
            apiUrl: emu.url,
            clientId: tenant.clientId,
            clientSecret: { env: 'DEMO_CLIENT_SECRET' },
          },
        ],
        http: { caFile },
        poll: { once: true, initialLookbackHours: hours },
        sink: toFluentd ? { type: 'forward', host: '127.0.0.1', port } : { type: 'stdout' },
        stateDir: path.join(dir, 'state'),
        log: { level: 'warn' },
      },
      'demo',
    );
    const cfg = resolveConfig(raw, path.join(dir, 'demo.yaml'), { DEMO_CLIENT_SECRET: tenant.clientSecret }, 'demo');
    const level = (flagString(args, 'log-level') as Level | undefined) ?? 'warn';
    const { logger, progress } = terminalOutput(level);
    err(`demo: emulator at ${emu.url} (tenant ${tenant.tenantId}, ${hours} h of history)`);
    err(
      toFluentd
        ? `demo: delivering to Fluentd at 127.0.0.1:${port} with acknowledgements`
        : args.flags.has('stdout')
          ? 'demo: events go to stdout as JSON lines (--stdout)'
          : `demo: no Fluentd on 127.0.0.1:${port}; events go to ${eventsFile ?? 'stdout as JSON lines'}`,
    );
    const samples = new Map<number, OutEvent>();
    let file: fs.WriteStream | undefined;
    let sink: Sink | undefined;
    if (eventsFile) {
      file = fs.createWriteStream(eventsFile, { flags: 'w' });
      sink = createStdoutSink({ out: file });
    } else if (toFluentd && choice.pretty) {
      sink = createSink(cfg.sink, { logger: logger.child({ component: 'sink' }) });
    }
    let summary: PassSummary | undefined;
    let code: number;
    try {
      code = await runBridge(cfg, logger, {
        progress,
        onPass: (s) => (summary = s),
        ...(sink ? { bridgeOptions: { sink: choice.pretty ? samplingSink(sink, samples) : sink } } : {}),
      });
    } finally {
      if (file) await new Promise<void>((resolve) => file!.end(() => resolve()));
    }
    if (choice.pretty) printSamples(samples, err);
    if (summary) printSummary(summary, err);
    if (choice.pretty && summary) {
      const events = summary.results.reduce((n, r) => n + r.events, 0);
      err('');
      err(
        eventsFile
          ? `demo: all ${events} events (JSON lines: tag, time, record) are in ${eventsFile}\n      e.g. grep -c threat_intelligence ${eventsFile}; or run with --stdout to get them on stdout`
          : `demo: all ${events} events went to Fluentd at 127.0.0.1:${port}, acknowledged`,
      );
    }
    return code;
  } finally {
    await emu.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function printSummary(s: PassSummary, out: (line: string) => void): void {
  const byTag = new Map<string, number>();
  let records = 0;
  let invalid = 0;
  let duplicates = 0;
  let lost = 0;
  let blobs = 0;
  for (const r of s.results) {
    records += r.records;
    invalid += r.invalid;
    duplicates += r.duplicates;
    lost += r.lostBlobs;
    blobs += r.blobs;
    for (const [tag, n] of r.byTag) byTag.set(tag, (byTag.get(tag) ?? 0) + n);
  }
  out('');
  out('summary');
  out(`  blobs ${blobs}, records ${records}, invalid (quarantined) ${invalid}, duplicates dropped ${duplicates}, blobs lost at source ${lost}`);
  const width = Math.max(...[...byTag.keys()].map((t) => t.length), 10);
  for (const [tag, n] of [...byTag].sort((a, b) => b[1] - a[1])) out(`  ${tag.padEnd(width)}  ${n}`);
  for (const e of s.tenantErrors) out(`  tenant ${e.tenantId} failed: ${e.error.code}: ${e.error.message}`);
  for (const r of s.results) if (r.error) out(`  ${r.tenantId} ${r.contentType} failed: ${r.error.code}: ${r.error.message}`);
}
