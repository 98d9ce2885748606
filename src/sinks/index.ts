/** Builds the configured sink. Config loading (secrets, CA files) happens before; this only switches. */
import type { Sink } from '../contracts';
import { createForwardSink, type ForwardSinkOptions } from './forward/forward';
import { createStdoutSink, type StdoutSinkOptions } from './stdout/stdout';

export type SinkConfig = ({ type: 'forward' } & ForwardSinkOptions) | ({ type: 'stdout' } & StdoutSinkOptions);

export function createSink(cfg: SinkConfig): Sink {
  switch (cfg.type) {
    case 'forward':
      return createForwardSink(cfg);
    case 'stdout':
      return createStdoutSink(cfg);
  }
}

export { createForwardSink, ForwardSink, DEFAULT_MAX_BATCH_BYTES, type ForwardSinkOptions } from './forward/forward';
export { createStdoutSink, formatEventLine, type StdoutSinkOptions } from './stdout/stdout';
