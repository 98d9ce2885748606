/**
 * `o365-fluent-bridge emulator [--port N] [--seed S] [--profile NAME] [--https] [--tenants N]`
 * Runs the Management Activity API emulator until SIGINT/SIGTERM. It is a test server: printing the
 * credentials it generated for itself is the point.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { profileNames, startEmulator, type EmulatorOptions } from '../emulator';

const USAGE = `usage: o365-fluent-bridge emulator [--port N] [--host H] [--seed S] [--profile ${profileNames().join('|')}] [--https] [--tenants N]
          [--history-hours H] [--records-per-blob N] [--page-size N] [--enable-all] [--ca-file FILE]`;

interface Parsed {
  opts: EmulatorOptions;
  caFile?: string;
}

function parse(argv: string[]): Parsed | string {
  const opts: EmulatorOptions = {};
  let caFile: string | undefined;
  const int = (name: string, v: string | undefined, min: number): number | string => {
    const n = Number(v);
    return v !== undefined && Number.isInteger(n) && n >= min ? n : `${name} needs an integer ≥ ${min}`;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string | undefined => argv[++i];
    let r: number | string;
    switch (a) {
      case '--port':
        if (typeof (r = int('--port', next(), 0)) === 'string') return r;
        opts.port = r;
        break;
      case '--host':
        opts.host = next();
        if (!opts.host) return '--host needs a value';
        break;
      case '--seed': {
        const v = next();
        if (v === undefined) return '--seed needs a value';
        opts.seed = /^\d+$/.test(v) ? Number(v) : v;
        break;
      }
      case '--profile':
        opts.profile = next();
        if (!opts.profile || !profileNames().includes(opts.profile)) return `--profile must be one of ${profileNames().join(', ')}`;
        break;
      case '--https':
        opts.https = true;
        break;
      case '--tenants':
        if (typeof (r = int('--tenants', next(), 1)) === 'string') return r;
        opts.tenants = r;
        break;
      case '--history-hours':
        if (typeof (r = int('--history-hours', next(), 0)) === 'string') return r;
        opts.historyHours = r;
        break;
      case '--records-per-blob':
        if (typeof (r = int('--records-per-blob', next(), 1)) === 'string') return r;
        opts.recordsPerBlob = r;
        break;
      case '--page-size':
        if (typeof (r = int('--page-size', next(), 1)) === 'string') return r;
        opts.pageSize = r;
        break;
      case '--enable-all':
        opts.enabledAtStart = ['Audit.AzureActiveDirectory', 'Audit.Exchange', 'Audit.SharePoint', 'Audit.General', 'DLP.All'];
        break;
      case '--ca-file':
        caFile = next();
        if (!caFile) return '--ca-file needs a path';
        break;
      case '-h':
      case '--help':
        return '';
      default:
        return `unknown option "${a}"`;
    }
  }
  return { opts, caFile };
}

export async function main(argv: string[]): Promise<number> {
  const p = parse(argv);
  if (typeof p === 'string') {
    if (p) process.stderr.write(`emulator: ${p}\n`);
    process.stderr.write(USAGE + '\n');
    return p ? 2 : 0;
  }
  const em = await startEmulator(p.opts);
  const out: string[] = [`emulator listening on ${em.url}`, `scope: ${em.scope}`];
  if (em.ca) {
    const file = p.caFile ?? path.join(os.tmpdir(), `o365-emulator-ca-${process.pid}.pem`);
    fs.writeFileSync(file, em.ca);
    out.push(`CA certificate (trust it, e.g. NODE_EXTRA_CA_CERTS): ${file}`);
  }
  for (const t of em.tenants) {
    out.push(`tenant ${t.tenantId} (${t.domain})`, `  clientId:     ${t.clientId}`, `  clientSecret: ${t.clientSecret}`);
    out.push(`  token:        ${em.url}/${t.tenantId}/oauth2/v2.0/token`, `  api:          ${em.url}/api/v1.0/${t.tenantId}/activity/feed/`);
  }
  process.stdout.write(out.join('\n') + '\n');
  await new Promise<void>((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
  await em.stop();
  process.stdout.write('emulator stopped\n');
  return 0;
}
