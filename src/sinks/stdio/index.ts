/**
 * The stdio sink as one self-describing module: the config keys it reads, how it is built from the
 * loaded config, and its one-line description. The sinks registry needs one line for it.
 */
import type { Sink } from '../../contracts';
import type { SinkConfig } from '../../config/types';
import type { BridgeError } from '../../errors';
import type { Logger } from '../../obs/log';
import { createStdioSink } from './stdio';

export { StdioSink, createStdioSink, type StdioSinkOptions } from './stdio';

export const stdioSinkModule = {
  type: 'stdio' as const,
  /**
   * The `sink` keys that apply to stdio (the others describe a network receiver and are ignored).
   * The Fluentd plugin's generated `<sink>` section offers exactly these.
   */
  configKeys: ['ackTimeoutSeconds', 'maxBatchBytes', 'maxBatchEvents', 'maxInFlightBatches'] as const,
  create(cfg: SinkConfig, deps: { logger: Logger; onPeerGone?: (err: BridgeError) => void }): Sink {
    return createStdioSink({
      ackTimeoutMs: cfg.ackTimeoutSeconds * 1000,
      maxBatchBytes: cfg.maxBatchBytes,
      maxInFlight: cfg.maxInFlightBatches,
      logger: deps.logger,
      onPeerGone: deps.onPeerGone,
    });
  },
  describe(_cfg: SinkConfig): string {
    return 'sink stdio (forward protocol on stdout, acks on stdin: run by the Fluentd plugin)';
  },
};
