/**
 * `npm run test:sim -- --runs N --seed S [--verbose]`: long runs of the delivery simulation. On a
 * failure it prints the seed, the shrunk (minimal) schedule and what broke; exit 1.
 */
import fc from 'fast-check';
import { runSchedule } from './world';
import { schedule } from './schedule';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v)) throw new Error(`--${name} needs an integer`);
  return v;
}

async function main(): Promise<number> {
  const runs = arg('runs', 10_000);
  const seed = arg('seed', Date.now() % 2 ** 31);
  const started = Date.now();
  process.stdout.write(`simulation: ${runs} schedules, seed ${seed}\n`);
  let last = '';
  const out = await fc.check(
    fc.asyncProperty(schedule, async (s) => {
      const r = await runSchedule(s);
      last = r.violations.join('\n');
      return r.violations.length === 0;
    }),
    { seed, numRuns: runs },
  );
  if (!out.failed) {
    process.stdout.write(`ok: ${out.numRuns} schedules in ${((Date.now() - started) / 1000).toFixed(1)} s (seed ${seed})\n`);
    return 0;
  }
  const minimal = out.counterexample?.[0];
  // Re-run the minimal schedule to print its own violations (not the last one tried while shrinking).
  const again = minimal ? await runSchedule(minimal) : undefined;
  process.stdout.write(
    [
      `FAILED after ${out.numRuns} schedule(s); seed ${seed}, path ${out.counterexamplePath}`,
      `replay: npm run test:sim -- --runs ${runs} --seed ${seed}`,
      `shrunk ${out.numShrinks} time(s) to:`,
      JSON.stringify(minimal, null, 1),
      'violations:',
      again ? again.violations.join('\n') : last,
      out.errorInstance ? String(out.errorInstance) : '',
    ].join('\n') + '\n',
  );
  return 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(String((e as Error)?.stack ?? e) + '\n');
    process.exit(2);
  },
);
