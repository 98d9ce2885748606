/**
 * Between the router and the sink: groups events into batches (by count and bytes), keeps a bounded
 * number of batches in flight, and re-sends a rejected batch with backoff until the receiver
 * acknowledges it or the bridge shuts down. The caller learns, per blob, when every one of its
 * batches has been acknowledged: only then may the checkpoint move over that blob.
 *
 * Memory: at most maxInFlight batches of at most maxBatchEvents / maxBatchBytes each, plus the one
 * being filled per blob. When the window is full, `add` waits, which stops the blob reader, which
 * stops reading the HTTP response: backpressure all the way to the API.
 */
import type { OutEvent, Sink } from '../contracts';
import { BridgeError } from '../errors';
import type { Logger } from '../obs/log';
import { backoffDelay } from '../net/retry';
import { Semaphore, sleep } from './limits';

export interface DeliveryOptions {
  maxBatchEvents: number;
  maxBatchBytes: number;
  maxInFlight: number;
  /** Upper bound of the wait between two attempts of one batch. */
  maxBackoffMs?: number;
  logger: Logger;
  signal: AbortSignal;
  onBatchAcked?: (events: number) => void;
  onBatchRetry?: (err: unknown) => void;
}

export class Delivery {
  private readonly window: Semaphore;

  constructor(
    private readonly sink: Sink,
    private readonly o: DeliveryOptions,
  ) {
    this.window = new Semaphore(o.maxInFlight);
  }

  /** A batcher for one blob. */
  batcher(): BlobBatcher {
    return new BlobBatcher(this, this.o.maxBatchEvents, this.o.maxBatchBytes);
  }

  /**
   * Waits for room in the in-flight window, then sends the batch in the background. The returned
   * object's `acked` settles when the receiver acknowledged it (wrapped: an async function returning a
   * promise would flatten it and wait for the ack).
   */
  async dispatch(events: OutEvent[]): Promise<{ acked: Promise<void> }> {
    await this.window.acquire();
    if (this.o.signal.aborted) {
      this.window.release();
      throw new BridgeError('SINK_CLOSED', 'shutting down: batch not sent', { retryable: true });
    }
    const p = this.sendUntilAcked(events).finally(() => this.window.release());
    // The caller awaits this promise later; keep an unhandled rejection from surfacing before then.
    p.catch(() => undefined);
    return { acked: p };
  }

  private async sendUntilAcked(events: OutEvent[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.sink.send(events);
        this.o.onBatchAcked?.(events.length);
        return;
      } catch (err) {
        if (this.o.signal.aborted) throw err;
        this.o.onBatchRetry?.(err);
        const wait = backoffDelay(attempt - 1, { baseDelayMs: 250, maxDelayMs: this.o.maxBackoffMs ?? 30_000 });
        if (attempt === 1 || attempt % 10 === 0) {
          this.o.logger.warn('delivery failed, will retry', { err, attempt, events: events.length, retryInMs: wait });
        }
        await sleep(wait, this.o.signal);
        if (this.o.signal.aborted) throw err;
      }
    }
  }

  get inFlight(): number {
    return this.window.inUse;
  }
}

/** Collects one blob's events into batches and tracks their acknowledgements. */
export class BlobBatcher {
  private events: OutEvent[] = [];
  private bytes = 0;
  private readonly pending: Array<Promise<void>> = [];
  sent = 0;

  constructor(
    private readonly delivery: Delivery,
    private readonly maxEvents: number,
    private readonly maxBytes: number,
  ) {}

  /**
   * Adds an event; `size` is the record's approximate encoded size (its JSON byte length).
   * Returns a promise only when a batch had to be handed over (the caller awaits it then), so the
   * common case costs no microtask per record.
   */
  add(ev: OutEvent, size: number): Promise<void> | undefined {
    if (this.events.length > 0 && this.bytes + size > this.maxBytes) {
      return this.flush().then(() => this.add(ev, size));
    }
    this.events.push(ev);
    this.bytes += size;
    if (this.events.length >= this.maxEvents) return this.flush();
    return undefined;
  }

  async flush(): Promise<void> {
    if (this.events.length === 0) return;
    const batch = this.events;
    this.events = [];
    this.bytes = 0;
    this.sent += batch.length;
    this.pending.push((await this.delivery.dispatch(batch)).acked);
  }

  /** Flushes and waits until every batch of the blob is acknowledged (rejects on shutdown). */
  async drain(): Promise<void> {
    await this.flush();
    await Promise.all(this.pending);
  }

  /** Waits for batches already sent, ignoring outcomes (used when abandoning a blob). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.pending);
  }
}
