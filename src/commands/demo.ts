/**
 * `npm run demo`: the whole pipeline on the embedded emulator, with no setup. Starts the emulator
 * (HTTPS, its own CA) with a day of realistic data, runs one bridge pass against it with a real
 * config (loaded through the same schema and loader as `run`), and delivers to Fluentd on
 * 127.0.0.1:24224 when one listens there, else to stdout. Then prints a summary.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveConfig, validateConfigObject } from '../config/load';
import { startEmulator } from '../emulator';
import type { Level } from '../obs/log';
import type { PassSummary } from '../bridge';
import { flagString, parseArgs } from './args';
import { runBridge, terminalOutput } from './run';

function fluentdListening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['fluentd-port', 'hours', 'log-level', 'seed']);
  const port = Number(flagString(args, 'fluentd-port') ?? 24224);
  const hours = Math.min(168, Math.max(1, Number(flagString(args, 'hours') ?? 24)));
  const toFluentd = !args.flags.has('stdout') && (await fluentdListening('127.0.0.1', port));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-fluent-bridge-demo-'));
  const err = (s: string) => process.stderr.write(s + '\n');

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
    err(toFluentd ? `demo: delivering to Fluentd at 127.0.0.1:${port} with acknowledgements` : `demo: no Fluentd on 127.0.0.1:${port}; events go to stdout as JSON lines`);
    let summary: PassSummary | undefined;
    const code = await runBridge(cfg, logger, { progress, onPass: (s) => (summary = s) });
    if (summary) printSummary(summary, err);
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
