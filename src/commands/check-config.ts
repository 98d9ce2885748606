/**
 * `check-config FILE`: load and validate a config exactly as `run` would (schema, secrets, key files,
 * state dir), without any network call. Exit 0 with a one-line summary, or 2 with every problem.
 */
import { loadConfig, summarizeConfig, ConfigError } from '../config/load';

export interface CheckConfigIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env: NodeJS.ProcessEnv;
}

const defaultIo: CheckConfigIo = {
  out: (l) => process.stdout.write(l + '\n'),
  err: (l) => process.stderr.write(l + '\n'),
  env: process.env,
};

export async function main(argv: string[], io: CheckConfigIo = defaultIo): Promise<number> {
  // `--probe`: the checks against the real services, which `doctor` does.
  if (argv.includes('--probe')) return (await import('./doctor')).main(argv.filter((a) => a !== '--probe'));
  // --sink / --tag-prefix as `run` takes them, so a parent checks exactly what it will run.
  const over: Record<string, string> = {};
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if ((a === '--sink' || a === '--tag-prefix') && i + 1 < argv.length) over[a] = argv[++i];
    else if (a !== '--config' && a !== '-c') args.push(a);
  }
  if (args.length !== 1 || args[0].startsWith('-')) {
    io.err('usage: o365-fluent-bridge check-config FILE [--probe] [--sink TYPE] [--tag-prefix P]');
    return 2;
  }
  try {
    const cfg = await loadConfig(args[0], io.env, { sinkType: over['--sink'], tagPrefix: over['--tag-prefix'] });
    io.out(summarizeConfig(cfg));
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) {
      for (const p of e.problems) io.err(p);
      io.err(`${e.problems.length} problem${e.problems.length === 1 ? '' : 's'} (${e.code})`);
      return 2;
    }
    throw e;
  }
}
