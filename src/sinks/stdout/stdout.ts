/**
 * The stdout sink: one JSON line per event, for Fluentd's `exec` input or Fluent Bit's `exec` /
 * `stdin` inputs. There is no acknowledgement: a batch counts as delivered once written (and
 * drained), so what was in flight can be lost if the reader dies.
 *
 * Line format: {"tag":"o365.audit.exchange","time":1717171717.123456789,"record":{...}}
 * `time` is epoch seconds as a JSON number with the nanoseconds written out exactly (no float
 * rounding in the text): Fluentd parses it with `time_key time` + `time_type float`, Fluent Bit's
 * json parser with `Time_Key time` + `Time_Format %s.%L`. The tag goes in `tag` for Fluentd's
 * `<extract> tag_key tag </extract>`. Values JSON cannot hold follow the forward sink's rules:
 * Date → ISO string, BigInt → decimal string, undefined → left out.
 */
import type { EncodedBatch, OutEvent, Sink } from '../../contracts';
import { BridgeError } from '../../errors';

export interface StdoutSinkOptions {
  /** Custom writer: return false to ask for a 'drain' wait on `out`, or a promise to await. */
  write?: (chunk: string) => boolean | Promise<void>;
  /** Default process.stdout. */
  out?: NodeJS.WritableStream;
}

const bigintSafe = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);

export function formatEventLine(ev: OutEvent): string {
  const nsec = String(ev.time.nsec >>> 0).padStart(9, '0');
  let record: string;
  try {
    record = JSON.stringify(ev.record);
  } catch {
    // Only records holding a BigInt (or a cycle) get here: the replacer costs too much to run always.
    record = JSON.stringify(ev.record, bigintSafe);
  }
  return `{"tag":${JSON.stringify(ev.tag)},"time":${ev.time.sec}.${nsec},"record":${record ?? 'null'}}\n`;
}

interface StdoutBatch extends EncodedBatch {
  text: string;
}

class StdoutSink implements Sink {
  private closed = false;
  private readonly out: NodeJS.WritableStream;
  private failed: BridgeError | null = null;
  /** Serialises writes so lines of concurrent batches never interleave mid-line nor overtake a drain wait. */
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly o: StdoutSinkOptions) {
    this.out = o.out ?? process.stdout;
    this.out.on('error', (e: NodeJS.ErrnoException) => {
      this.failed = new BridgeError('SINK_UNREACHABLE', `standard output failed (${e.code ?? e.message}); is the reading process still running?`, { retryable: true });
    });
    this.out.on('close', () => {
      this.failed ??= new BridgeError('SINK_UNREACHABLE', 'standard output was closed; is the reading process still running?', { retryable: true });
    });
  }

  encode(events: OutEvent[]): EncodedBatch {
    let text: string;
    try {
      text = events.map(formatEventLine).join('');
    } catch (e) {
      throw new BridgeError('INTERNAL', `a record could not be written as JSON (${(e as Error).message})`, { retryable: false });
    }
    const b: StdoutBatch = { events: events.length, bytes: text.length, text };
    return b;
  }

  deliver(batch: EncodedBatch): Promise<void> {
    if (this.closed) return Promise.reject(new BridgeError('SINK_CLOSED', 'the stdout sink is closed; batch not written', { retryable: true }));
    const text = (batch as StdoutBatch).text;
    const p = this.tail.then(() => this.writeChunk(text));
    this.tail = p.catch(() => undefined);
    return p;
  }

  release(): void {}

  /** encode + deliver, for callers that don't re-send (tests, tools). */
  send(events: OutEvent[]): Promise<void> {
    try {
      return this.deliver(this.encode(events));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private async writeChunk(text: string): Promise<void> {
    if (this.failed) throw this.failed;
    if (text.length === 0) return;
    const r = this.o.write ? this.o.write(text) : this.out.write(text);
    if (r instanceof Promise) await r;
    else if (r === false) await this.drain();
    if (this.failed) throw this.failed;
  }

  private drain(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.out.removeListener('drain', done);
        this.out.removeListener('error', done);
        this.out.removeListener('close', done);
        resolve();
      };
      this.out.once('drain', done);
      this.out.once('error', done);
      this.out.once('close', done);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.tail;
  }
}

export function createStdoutSink(opts: StdoutSinkOptions = {}): Sink & { send(events: OutEvent[]): Promise<void> } {
  return new StdoutSink(opts);
}
