#!/usr/bin/env node
/**
 * CLI dispatcher. Each command lives in src/commands/<name>.ts and exports
 * `main(argv: string[]): Promise<number>` (the exit code).
 */
import { wantsHelp } from './commands/args';

/** `help`: the one-line summary in the command list; `usage`: what `<command> --help` prints. */
const COMMANDS: Record<string, { file: string; help: string; usage: () => string }> = {
  run: {
    file: './commands/run',
    help: 'run --config FILE            poll every tenant and deliver events',
    usage: () => 'run --config FILE [--once] [--log-level debug|info|warn|error]\n\nPolls every configured tenant and delivers events to the sink; --once: one pass, then exit.',
  },
  'check-config': {
    file: './commands/check-config',
    help: 'check-config FILE [--probe]  validate a config file and exit (--probe: as doctor)',
    usage: () => 'check-config FILE [--probe]\n\nValidates a config file (schema, secrets, paths) and exits: 0 valid, 2 not. --probe also runs doctor\'s checks.',
  },
  doctor: {
    file: './commands/doctor',
    help: 'doctor --config FILE         check tenants (token, subscriptions, listing) and the sink (handshake, test event)',
    usage: () => 'doctor --config FILE\n\nFor each tenant: token, subscriptions, one small listing per content type, clock; for the sink: connect, handshake, one acknowledged test event to <tagPrefix>.bridge.probe. One line per check; exit 0 only if all pass.',
  },
  validate: {
    file: './commands/validate',
    help: 'validate [FILE|-] [--json] [--strict]   check audit records against schemas/',
    usage: () => 'validate [FILE|-] [--json] [--strict]\n\nChecks audit records (a JSON array, or NDJSON; - for stdin) against schemas/: 0 all valid, 1 some invalid, 2 unreadable.',
  },
  map: {
    file: './commands/map',
    help: 'map [FILE|-] [--format ecs|raw]   print the event run would deliver for each record',
    usage: () => 'map [FILE|-] [--format ecs|raw]\n\nPrints, for each record (a JSON array, or NDJSON; - for stdin), the event run would deliver: raw, or the ECS document with --format ecs.',
  },
  demo: {
    file: './commands/demo',
    help: 'demo [--stdout] [--out FILE]  the full pipeline on the embedded emulator',
    usage: () => 'demo [--hours N] [--stdout] [--out FILE] [--fluentd-port N] [--seed S] [--log-level L]\n\nRuns the whole pipeline against the embedded emulator; delivers to a Fluentd on 127.0.0.1 (--fluentd-port, default 24224) when one listens, else to stdout.',
  },
  emulator: {
    file: './commands/emulator',
    help: 'emulator [--port N] [--seed S] [--profile NAME] [--https]',
    usage: () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { profileNames } = require('./emulator/profiles') as { profileNames(): string[] };
      return `emulator [--port N] [--host H] [--seed S] [--profile ${profileNames().join('|')}] [--https] [--tenants N]\n         [--history-hours H] [--records-per-blob N] [--page-size N] [--enable-all] [--ca-file FILE]\n\nServes the Management Activity API emulator alone.`;
    },
  },
  status: {
    file: './commands/status',
    help: 'status --config FILE [--json]   checkpoints and last-run counts',
    usage: () => 'status --config FILE [--json]\n\nPer tenant and content type: checkpoint, lag, last run\'s counts, blobs lost at the source.',
  },
  subscriptions: {
    file: './commands/subscriptions',
    help: 'subscriptions list|start|stop --config FILE',
    usage: () => 'subscriptions list|start|stop --config FILE [--tenant ID|NAME] [--content-type CT] [--json]\n\nLists, starts or stops the Management Activity API subscriptions (stop needs --content-type).',
  },
};

function usage(): string {
  return ['usage: o365-fluent-bridge <command> [options]', '', 'commands:', ...Object.values(COMMANDS).map((c) => '  ' + c.help), '', 'o365-fluent-bridge <command> --help shows the options of one command.'].join('\n');
}

async function main(): Promise<number> {
  const [cmd, ...rest] = process.argv.slice(2);
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    // `help run` is `run --help`.
    const about = cmd === 'help' && rest[0] ? COMMANDS[rest[0]] : undefined;
    process.stdout.write((about ? `usage: o365-fluent-bridge ${about.usage()}` : usage()) + '\n');
    return cmd ? 0 : 2;
  }
  const entry = COMMANDS[cmd];
  if (!entry) {
    process.stderr.write(`unknown command "${cmd}"\n${usage()}\n`);
    return 2;
  }
  // Asked for, usage is the answer (stdout, exit 0), before the command can fail on missing options.
  if (wantsHelp(rest)) {
    process.stdout.write(`usage: o365-fluent-bridge ${entry.usage()}\n`);
    return 0;
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
