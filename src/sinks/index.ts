/**
 * The sink registry. Each sink is a self-describing module in its own folder (create, describe, the
 * largest event it takes, whether its "delivered" means acknowledged, its own config keys); adding one
 * is a folder and one line in SINKS. Config loading (secrets, CA files) happens before; this only looks the type up.
 */
import type { SinkConfig as ConfigSinkSection } from '../config/types';
import type { Sink } from '../contracts';
import type { BridgeError } from '../errors';
import type { Logger } from '../obs/log';
import { forwardSink } from './forward';
import { stdoutSink } from './stdout';
import { stdioSink } from './stdio';

export interface SinkContext {
  logger: Logger;
  /** Asks the bridge to stop now (a sink whose peer is gone for good: the stdio sink's parent). */
  stop?: (reason: BridgeError) => void;
}

export interface SinkModule {
  /** `sink.type` in the config. */
  readonly type: string;
  /** True when the sink's "delivered" means the receiver acknowledged (false: written to a pipe). */
  readonly acknowledges: boolean;
  create(cfg: ConfigSinkSection, ctx: SinkContext): Sink;
  /** One line for logs and check-config, without secrets. */
  describe(cfg: ConfigSinkSection): string;
  /** Largest single event (bytes, encoded) the sink can take with this config. */
  largestEvent(cfg: ConfigSinkSection): number;
  /**
   * The sink's own keys of the config's `sink` section (JSON Schema properties, and dependentRequired),
   * beside `type` and the delivery core's keys (batch sizes, in-flight window, ack timeout).
   * src/config/schema.ts merges them in; config/types.ts types them.
   */
  readonly configSchema?: { properties: Record<string, unknown>; dependentRequired?: Record<string, string[]> };
}

/** Every sink, by `sink.type`. */
export const SINKS: Readonly<Record<string, SinkModule>> = {
  [forwardSink.type]: forwardSink,
  [stdoutSink.type]: stdoutSink,
  [stdioSink.type]: stdioSink,
};

export function sinkModule(type: string): SinkModule {
  const m = SINKS[type];
  if (!m) throw new Error(`unknown sink type ${JSON.stringify(type)} (known: ${Object.keys(SINKS).join(', ')})`);
  return m;
}

export function createSink(cfg: ConfigSinkSection, ctx: SinkContext): Sink {
  return sinkModule(cfg.type).create(cfg, ctx);
}

export { createForwardSink, ForwardSink, DEFAULT_MAX_BATCH_BYTES, type ForwardSinkOptions } from './forward/forward';
export { createStdoutSink, formatEventLine, type StdoutSinkOptions } from './stdout/stdout';
export { createStdioSink, StdioSink, type StdioSinkOptions } from './stdio';
