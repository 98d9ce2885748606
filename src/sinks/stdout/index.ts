/** The stdout sink as a module of the registry (src/sinks/index.ts). */
import type { SinkModule } from '../index';
import { createStdoutSink } from './stdout';

export const stdoutSink: SinkModule = {
  type: 'stdout',
  acknowledges: false,
  create: () => createStdoutSink(),
  describe: () => 'sink stdout (no acknowledgements)',
  // A line has no limit of its own; batches stay under sink.maxBatchBytes.
  largestEvent: (cfg) => cfg.maxBatchBytes,
};
