/**
 * `o365-fluent-bridge run --config FILE [--once] [--log-level L]`: the service.
 * Exit codes (exit-codes.ts): the service exits 0 after a clean stop (SIGTERM/SIGINT); with --once,
 * the pass's verdict: 0 only when every tenant and content type completed with every event
 * acknowledged, 3 a tenant refused, 4 the receiver, 5 partial. 2 for a bad config, 1 for a fatal
 * runtime error (state directory unusable, ...).
 */
import { loadConfig } from '../config/load';
import type { Config } from '../config/types';
import { isBridgeError } from '../errors';
import { createLogger, type Level, type Logger } from '../obs/log';
import { createMetrics, noopMetrics, type Metrics } from '../obs/metrics';
import { createProgress, type Progress } from '../obs/progress';
import { startObsServer } from '../obs/server';
import { tuneHeap } from '../obs/heap';
import { boundYoungGeneration } from '../obs/young-gen';
import { Bridge, type PassSummary } from '../bridge';
import { flagString, parseArgs } from './args';
import { EXIT, formatVerdict, passVerdict, readinessWithTenants, type Verdict } from './exit-codes';
import { toHealthFile, writeHealthFile } from './health-file';

export async function main(argv: string[]): Promise<number> {
  // First thing: loading the config (ajv) already grows the young generation past the bound.
  tuneHeap();
  boundYoungGeneration();
  const args = parseArgs(argv, ['config', 'log-level', 'sink', 'tag-prefix']);
  const file = flagString(args, 'config') ?? args.positionals[0];
  if (!file) {
    process.stderr.write('usage: o365-fluent-bridge run --config FILE [--once] [--log-level debug|info|warn|error] [--sink TYPE] [--tag-prefix P]\n');
    return 2;
  }
  let cfg: Config;
  try {
    // --sink / --tag-prefix: set by a parent running the bridge on the user's file (the Fluentd plugin).
    cfg = await loadConfig(file, process.env, { sinkType: flagString(args, 'sink'), tagPrefix: flagString(args, 'tag-prefix') });
  } catch (err) {
    return reportConfigError(err);
  }
  if (args.flags.has('once')) cfg.poll.once = true;
  const level = (flagString(args, 'log-level') as Level | undefined) ?? cfg.log.level;
  const { logger, progress } = terminalOutput(level);
  return runBridge(cfg, logger, { progress });
}

/**
 * Logs and progress for a command: pretty lines on a terminal, written above the progress bars so the
 * two don't garble each other; JSON lines otherwise (and then the progress is periodic log lines).
 */
export function terminalOutput(level: Level): { logger: Logger; progress: Progress } {
  const tty = Boolean(process.stderr.isTTY) && !process.env.CI;
  let progress: Progress | undefined;
  const logger = createLogger({
    level,
    pretty: tty,
    write: (line) => (progress && tty ? progress.writeAbove(line) : process.stderr.write(line + '\n')),
  });
  progress = createProgress({ isTTY: tty, logger: logger.child({ component: 'progress' }) });
  return { logger, progress };
}

export function reportConfigError(err: unknown): number {
  const problems = (err as { problems?: string[] }).problems;
  if (problems?.length) {
    for (const p of problems) process.stderr.write(p + '\n');
    return 2;
  }
  if (isBridgeError(err)) {
    process.stderr.write(`error ${err.code}: ${err.message}\n`);
    return 2;
  }
  throw err;
}

/** Runs a bridge until stopped; shared by `run` and `demo`. */
export async function runBridge(
  cfg: Config,
  logger: Logger,
  opts: { metrics?: Metrics; progress?: Progress; onPass?: (s: PassSummary) => void; bridgeOptions?: ConstructorParameters<typeof Bridge>[1] } = {},
): Promise<number> {
  // Before the pass allocates anything: keeps the old generation near its live size (see obs/heap.ts)
  // and the young one at 4 MiB semi-spaces (obs/young-gen.ts).
  tuneHeap();
  const young = boundYoungGeneration();
  const metrics = opts.metrics ?? (cfg.metrics.enabled ? createMetrics() : noopMetrics);
  const progress = opts.progress ?? createProgress({ isTTY: false, logger: logger.child({ component: 'progress' }) });
  const bridge = new Bridge(cfg, { logger, metrics, progress, ...opts.bridgeOptions });
  let obs: { close(): Promise<void> } | undefined;
  let last: Verdict | undefined;
  const onSignal = (sig: string) => {
    if (bridge.stopping) {
      logger.warn('second signal: stopping without waiting for acknowledgements', { signal: sig });
      bridge.abort();
      return;
    }
    logger.info('stopping: no new fetches; waiting for acknowledgements of what was sent', { signal: sig });
    bridge.stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await bridge.init();
    if (cfg.metrics.enabled) {
      obs = await startObsServer({
        host: cfg.metrics.host,
        port: cfg.metrics.port,
        metrics,
        readiness: () => readinessWithTenants(bridge.readiness(), last, cfg.tenants),
      });
      logger.info('metrics and health listening', { host: cfg.metrics.host, port: cfg.metrics.port });
    }
    logger.info('started', { tenants: cfg.tenants.length, sink: cfg.sink.type, stateDir: cfg.stateDir });
    let writing: Promise<void> = Promise.resolve();
    await bridge.run((s) => {
      logPass(logger, s);
      last = passVerdict(s, cfg.tenants, { stopped: bridge.stopping });
      // Best effort and in order: `status` shows it; a full disk must not stop delivery.
      const h = toHealthFile(last, s.finishedAt);
      writing = writing.then(() => writeHealthFile(cfg.stateDir, h)).catch((err: unknown) => logger.warn('could not write the health file for `status`', { err }));
      if (s.sinkError) logger.error('receiver given up; what it did not acknowledge stays in the checkpoint', { err: s.sinkError });
      opts.onPass?.(s);
    });
    await writing;
    logger.info('stopped cleanly');
    // The service stopped by a signal has done what it was asked; one pass reports how it went.
    if (!cfg.poll.once || !last) return EXIT.OK;
    for (const line of formatVerdict(last)) process.stderr.write(line + '\n');
    return last.exitCode;
  } catch (err) {
    logger.error('fatal', { err });
    process.stderr.write(`error ${isBridgeError(err) ? err.code : 'INTERNAL'}: ${(err as Error).message}\n`);
    return 1;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    progress.stop();
    await obs?.close();
    await bridge.close();
    young?.stop();
  }
}

function logPass(logger: Logger, s: PassSummary): void {
  for (const r of s.results) {
    logger.info('pass done', {
      tenant: r.tenantId,
      contentType: r.contentType,
      windows: r.windows,
      blobs: r.blobs,
      records: r.records,
      events: r.events,
      invalid: r.invalid,
      duplicates: r.duplicates,
      lostBlobs: r.lostBlobs,
      failedBlobs: r.failedBlobs,
      cursor: r.cursor,
      ...(r.error ? { code: r.error.code } : {}),
    });
  }
}
