#!/usr/bin/env node
/**
 * CLI dispatcher. Each command lives in src/commands/<name>.ts and exports
 * `main(argv: string[]): Promise<number>` (the exit code).
 */
const COMMANDS: Record<string, { file: string; help: string }> = {
  run: { file: './commands/run', help: 'run --config FILE            poll every tenant and deliver events' },
  'check-config': { file: './commands/check-config', help: 'check-config FILE            validate a config file and exit' },
  validate: { file: './commands/validate', help: 'validate [FILE|-] [--json] [--strict]   check audit records against schemas/' },
  map: { file: './commands/map', help: 'map [FILE|-] [--format ecs|raw]   print the event run would deliver for each record' },
  demo: { file: './commands/demo', help: 'demo                         the full pipeline on the embedded emulator' },
  emulator: { file: './commands/emulator', help: 'emulator [--port N] [--seed S] [--profile NAME] [--https]' },
  status: { file: './commands/status', help: 'status --config FILE [--json]   checkpoints and last-run counts' },
  subscriptions: { file: './commands/subscriptions', help: 'subscriptions list|start|stop --config FILE' },
};

function usage(): string {
  return ['usage: o365-fluent-bridge <command> [options]', '', 'commands:', ...Object.values(COMMANDS).map((c) => '  ' + c.help)].join('\n');
}

async function main(): Promise<number> {
  const [cmd, ...rest] = process.argv.slice(2);
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(usage() + '\n');
    return cmd ? 0 : 2;
  }
  const entry = COMMANDS[cmd];
  if (!entry) {
    process.stderr.write(`unknown command "${cmd}"\n${usage()}\n`);
    return 2;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(entry.file) as { main(argv: string[]): Promise<number> };
  return mod.main(rest);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const e = err as { code?: string; message?: string };
    process.stderr.write(`error${e?.code ? ' ' + e.code : ''}: ${e?.message ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
