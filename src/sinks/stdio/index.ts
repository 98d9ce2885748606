/**
 * The stdio sink as a module of the registry (src/sinks/index.ts): the forward protocol on stdout,
 * acks on stdin, for the Fluentd input plugin (fluent-plugin/) that runs the bridge as its child.
 */
import type { SinkModule } from '../index';
import { createStdioSink } from './stdio';

/**
 * The `sink` keys that apply to stdio; the others describe a network receiver. `--sink stdio`
 * (config/load.ts) keeps only these, and the plugin's generated `<sink>` section offers only these.
 */
export const STDIO_CONFIG_KEYS = ['ackTimeoutSeconds', 'maxBatchBytes', 'maxBatchEvents', 'maxInFlightBatches'] as const;

export const stdioSink: SinkModule & { configKeys: typeof STDIO_CONFIG_KEYS } = {
  type: 'stdio',
  acknowledges: true,
  configKeys: STDIO_CONFIG_KEYS,
  create: (cfg, ctx) =>
    createStdioSink({
      ackTimeoutMs: cfg.ackTimeoutSeconds * 1000,
      maxBatchBytes: cfg.maxBatchBytes,
      maxInFlight: cfg.maxInFlightBatches,
      logger: ctx.logger,
      // The parent gone means nothing can be acked any more: the bridge stops at once (no orphan).
      onPeerGone: ctx.stop,
    }),
  describe: () => 'sink stdio (forward protocol on stdout, acks on stdin: run by the Fluentd plugin)',
  // The same packets as forward: one event must fit in one packet with its header around it.
  largestEvent: (cfg) => cfg.maxBatchBytes - 64 * 1024,
};

export { StdioSink, createStdioSink, type StdioSinkOptions } from './stdio';
