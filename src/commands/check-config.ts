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
  const args = argv.filter((a) => a !== '--config' && a !== '-c');
  if (args.length !== 1 || args[0].startsWith('-')) {
    io.err('usage: o365-fluent-bridge check-config FILE [--probe]');
    return 2;
  }
  try {
    const cfg = await loadConfig(args[0], io.env);
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
