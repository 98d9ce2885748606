/** The forward sink as a module of the registry (src/sinks/index.ts). */
import type { SinkModule } from '../index';
import { createForwardSink } from './forward';
import configSchema from './config.schema.json';

export const forwardSink: SinkModule = {
  type: 'forward',
  acknowledges: true,
  configSchema,
  create: (cfg, ctx) =>
    createForwardSink({
      host: cfg.host,
      port: cfg.port,
      tls: cfg.tls.enabled ? { caPem: cfg.tls.ca, servername: cfg.tls.servername, rejectUnauthorized: cfg.tls.rejectUnauthorized } : undefined,
      sharedKey: cfg.sharedKey,
      username: cfg.username,
      password: cfg.password,
      ackTimeoutMs: cfg.ackTimeoutSeconds * 1000,
      maxBatchBytes: cfg.maxBatchBytes,
      maxInFlight: cfg.maxInFlightBatches,
      logger: ctx.logger,
    }),
  describe: (cfg) => `sink forward ${cfg.host}:${cfg.port}${cfg.tls.enabled ? ' (tls)' : ''}${cfg.sharedKey ? ' (shared key)' : ''}`,
  // One event must fit in one packet, with the packet's own header (tag, option) around it.
  largestEvent: (cfg) => cfg.maxBatchBytes - 64 * 1024,
};
