/**
 * Between the router and the sink: groups events into batches (by count and bytes), keeps a bounded
 * number of batches in flight, and gives every batch one of three outcomes:
 * - **delivered**: the receiver acknowledged it;
 * - **retry** (transient: unreachable, timeout, connection lost, handshake refused): sent again, as the
 *   same encoded bytes, with backoff, until acknowledged, the bridge stops, or (run --once) the sink is
 *   given up (`giveUp`); a batch that never got its ack rejects, and its blob is fetched again later;
 * - **rejected** (permanent for that content, e.g. SINK_EVENT_TOO_LARGE judged on the encoded size):
 *   never retried as it is; the refused event goes to the quarantine in a reduced form (`reduce`), and
 *   if even that is refused it is reported lost with its record Id. The rest of the batch goes on.
 * What the caller learns per batch (BatchReport) is what the ack tracker needs: nothing is durable here.
 *
 * Memory: at most maxInFlight batches, each held as its encoded bytes (the parsed events are dropped
 * once encoded), plus the one being filled per blob (encoded as it fills when the sink has an encoder,
 * so a parsed record lives only until it is added). When the window is full, `dispatch` waits, which
 * stops the blob reader, which stops reading the HTTP response: backpressure all the way to the API.
 */
import { IdList, type Ids } from './guid-table';
import type { BatchEncoder, EncodedBatch, OutEvent, Sink } from '../contracts';
import { BridgeError, isBridgeError } from '../errors';
import type { Logger } from '../obs/log';
import { backoffDelay } from '../net/retry';
import { realClock, Semaphore, type Clock } from './limits';
import type { Reducer } from './rejects';

/** A record refused even in its reduced form: reported with its Id, never silently dropped. */
export interface LostRecord {
  recordId: string | null;
  recordType: number | null;
  code: string;
}

/** How one batch ended, when it ended (a batch that is not acknowledged rejects instead). */
export interface BatchReport {
  /** Events acknowledged by the receiver, as they were or reduced (quarantined). */
  acked: number;
  /** Of `acked`: events delivered in their reduced form to the quarantine tag. */
  quarantined: number;
  /** Events refused even reduced: not delivered, reported. */
  lost: LostRecord[];
}

export interface DeliveryOptions {
  maxBatchEvents: number;
  maxBatchBytes: number;
  maxInFlight: number;
  /** Upper bound of the wait between two attempts of one batch. */
  maxBackoffMs?: number;
  logger: Logger;
  /** Ends retries (shutdown, second phase): a batch not acknowledged by then rejects with SINK_CLOSED. */
  signal: AbortSignal;
  clock?: Clock;
  /** The reduced form of a refused event; without it, a refused event is lost at once (reported). */
  reduce?: Reducer;
  /** The record Id and type of an event, for reports of lost records. */
  identify?: (ev: OutEvent) => { recordId: string | null; recordType: number | null };
  /**
   * Give the sink up (run --once): after a failure whose code is in `immediately` (a refused handshake
   * will not heal by itself), or once one batch has failed for `afterMs`. Then every batch in flight
   * and every later dispatch rejects with that error (`failure`). Unset: retry until stopped.
   */
  giveUp?: { afterMs: number; immediately: ReadonlySet<string> };
  onBatchAcked?: (events: number) => void;
  onBatchRetry?: (err: unknown) => void;
  /** Events dispatched and not settled yet, each time it changes (the events_unacked gauge). */
  onUnacked?: (events: number) => void;
}

/** Told of a batch's outcome (null: not acknowledged) before its slot in the in-flight window is free. */
export type Outcome = (report: BatchReport | null) => void;

export class Delivery {
  private readonly window: Semaphore;
  /** @internal (Lane: how long a batch lingers for more reads) */
  readonly clock: Clock;
  private unacked = 0;
  private failed: BridgeError | undefined;
  /** Ends the backoff waits of every batch once the sink is given up. */
  private readonly gaveUp = new AbortController();

  constructor(
    private readonly sink: Sink,
    private readonly o: DeliveryOptions,
  ) {
    this.window = new Semaphore(o.maxInFlight);
    this.clock = o.clock ?? realClock;
  }

  /** A batcher for one blob (one read of it), in a lane of its own. */
  batcher(onSettled?: (b: SentBatch, r: BatchReport | null) => void, claims?: Claims): BlobBatcher {
    return this.lane().batcher(onSettled, claims);
  }

  /**
   * A lane: the blob reads of one (tenant, content type) fill shared batches (see Lane). Without an
   * encoder in the sink, each read keeps a lane of its own.
   */
  lane(): Lane {
    return new Lane(this, this.o.maxBatchEvents, this.o.maxBatchBytes);
  }

  /** Set once the sink was given up (run --once): the error that made it so. */
  get failure(): BridgeError | undefined {
    return this.failed;
  }

  /**
   * Waits for room in the in-flight window, encodes the batch, then sends it in the background. The
   * returned object's `done` settles when the batch has its outcome (wrapped: an async function
   * returning a promise would flatten it and wait for the ack).
   */
  async dispatch(events: OutEvent[], ids: Ids = [], outcome?: Outcome): Promise<{ done: Promise<BatchReport> }> {
    await this.takeSlot();
    this.moveUnacked(events.length);
    const p = this.freeSlotAfter(this.deliverBatch(events, ids), events.length, outcome);
    // The caller awaits this promise later; keep an unhandled rejection from surfacing before then.
    p.catch(() => undefined);
    return { done: p };
  }

  /** Waits for room in the in-flight window; throws (holding no slot) once the sink failed or was stopped. */
  private async takeSlot(): Promise<void> {
    await this.window.acquire();
    const stopped = this.failed ?? (this.o.signal.aborted ? closedError() : undefined);
    if (stopped) {
      this.window.release();
      throw stopped;
    }
  }

  /**
   * The batch's outcome is told (`outcome`: the ack tracker records its Ids, in the journal too) before
   * its slot in the window is free: the next batch can reach the receiver only after that, so a kill -9
   * at any moment re-sends at most the window, never a batch acknowledged but not yet recorded.
   */
  private freeSlotAfter(sent: Promise<BatchReport>, events: number, outcome: Outcome | undefined): Promise<BatchReport> {
    const free = (r: BatchReport | null): void => {
      try {
        outcome?.(r);
      } finally {
        this.moveUnacked(-events);
        this.window.release();
      }
    };
    return sent.then(
      (r) => {
        free(r);
        return r;
      },
      (e: unknown) => {
        free(null);
        throw e;
      },
    );
  }

  private moveUnacked(d: number): void {
    this.unacked += d;
    this.o.onUnacked?.(this.unacked);
  }

  /**
   * As dispatch, for a batch the batcher encoded as it filled (Sink.encoder): `report` holds what was
   * quarantined or lost on the way, `encoder` is undefined when nothing was encoded.
   */
  async dispatchEncoded(encoder: BatchEncoder | undefined, events: number, ids: Ids, report: BatchReport, outcome?: Outcome): Promise<{ done: Promise<BatchReport> }> {
    try {
      await this.takeSlot();
    } catch (e) {
      encoder?.abandon();
      throw e;
    }
    // Finished (cut into packets) only now: a batch waiting for room holds its scratch alone, and its
    // lane waits with it, so no second buffer is taken for it (issue 17).
    let enc: EncodedBatch | null;
    try {
      enc = encoder ? encoder.finish() : null;
    } catch (e) {
      this.window.release();
      throw e;
    }
    this.moveUnacked(events);
    let sent: Promise<BatchReport>;
    if (enc === null || enc.events === 0) {
      if (enc) this.sink.release(enc);
      sent = Promise.resolve(report); // every event of the batch was refused, even reduced
    } else sent = this.send(enc, ids, report);
    const p = this.freeSlotAfter(sent, events, outcome);
    p.catch(() => undefined);
    return { done: p };
  }

  /** @internal (BlobBatcher) The sink's encoder for a batch filled event by event, when it has one. */
  get streams(): boolean {
    return typeof this.sink.encoder === 'function';
  }

  /** @internal (BlobBatcher) */
  openEncoder(): BatchEncoder {
    return this.sink.encoder!();
  }

  /**
   * @internal (BlobBatcher) Encodes `ev` into `enc`, with encode()'s rules: a refused event is replaced
   * by its reduced form once, and reported lost in `report` if that is refused too. Throws a
   * retryable error as it came (the read fails; its batch is not acknowledged).
   */
  encodeInto(enc: BatchEncoder, ev: OutEvent, report: BatchReport): void {
    let err: BridgeError;
    try {
      enc.add(ev);
      return;
    } catch (e) {
      err = asBridgeError(e);
      if (err.retryable) throw err;
    }
    let last = ev;
    if (this.o.reduce) {
      const why = { code: err.code, message: err.message, bytes: typeof err.details.bytes === 'number' ? err.details.bytes : undefined };
      last = this.o.reduce(ev, why);
      this.o.logger.warn('event refused by the sink; delivered reduced to the quarantine', { code: err.code, recordId: this.identify(ev).recordId, bytes: why.bytes });
      try {
        enc.add(last);
        report.quarantined++;
        return;
      } catch (e) {
        err = asBridgeError(e);
        if (err.retryable) throw err;
      }
    }
    const who = this.identify(last);
    report.lost.push({ ...who, code: err.code });
    this.o.logger.error('event refused by the sink even reduced; recorded as lost', { code: err.code, recordId: who.recordId });
  }

  private async deliverBatch(events: OutEvent[], ids: Ids): Promise<BatchReport> {
    const report: BatchReport = { acked: 0, quarantined: 0, lost: [] };
    const enc = this.encode(events, report);
    if (enc === null) return report; // every event of the batch was refused, even reduced
    // From here on only the bytes are held.
    events = [];
    return this.send(enc, ids, report);
  }

  /** Sends `enc` until acknowledged, given up, or stopped (see the class comment); releases it after. */
  private async send(enc: EncodedBatch, ids: Ids, report: BatchReport): Promise<BatchReport> {
    const total = enc.events;
    let firstFailure = 0;
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await this.sink.deliver(enc);
          report.acked = total;
          this.o.onBatchAcked?.(total);
          return report;
        } catch (err) {
          const e = asBridgeError(err);
          if (this.failed) throw this.failed;
          if (this.o.signal.aborted) throw e.code === 'SINK_CLOSED' ? e : closedError(e);
          if (!e.retryable) {
            // Refused for good after encoding (no sink does that today): the bytes can't be reduced, so
            // the records are reported lost by Id rather than retried forever.
            this.o.logger.error('batch refused by the sink; its records are reported lost', { err: e, events: total });
            for (const id of ids) report.lost.push({ recordId: id, recordType: null, code: e.code });
            return report;
          }
          this.o.onBatchRetry?.(e);
          const now = this.clock.now();
          if (attempt === 1) firstFailure = now;
          const g = this.o.giveUp;
          if (g && (g.immediately.has(e.code) || now - firstFailure >= g.afterMs)) {
            this.giveUp(e);
            throw e;
          }
          const wait = backoffDelay(attempt - 1, { baseDelayMs: 250, maxDelayMs: this.o.maxBackoffMs ?? 30_000 }, this.clock.random);
          if (attempt === 1 || attempt % 10 === 0) {
            this.o.logger.warn('delivery failed, will retry', { err: e, attempt, events: total, retryInMs: wait });
          }
          await this.clock.sleep(wait, anySignal(this.o.signal, this.gaveUp.signal));
          if (this.failed) throw this.failed;
          if (this.o.signal.aborted) throw closedError(e);
        }
      }
    } finally {
      this.sink.release(enc);
    }
  }

  /**
   * Encodes, taking refused events out: each is replaced by its reduced form once, and dropped (lost,
   * reported) if that is refused too. Each round takes at least one event out, so this ends.
   */
  private encode(events: OutEvent[], report: BatchReport): EncodedBatch | null {
    const reduced = new Set<OutEvent>();
    for (;;) {
      if (events.length === 0) return null;
      let err: BridgeError;
      try {
        return this.sink.encode(events);
      } catch (e) {
        err = asBridgeError(e);
        if (err.retryable) throw err;
      }
      const index = err.details.index;
      const bad = typeof index === 'number' && index >= 0 && index < events.length ? [index] : this.findRefused(events);
      if (bad.length === 0) {
        // The batch is refused but no event alone is: nothing to single out. Report all, don't loop.
        for (const ev of events) report.lost.push({ ...this.identify(ev), code: err.code });
        return null;
      }
      const keep: OutEvent[] = [];
      const badSet = new Set(bad);
      for (let i = 0; i < events.length; i++) {
        const ev = events[i];
        if (!badSet.has(i)) {
          keep.push(ev);
          continue;
        }
        const why = { code: err.code, message: err.message, bytes: typeof err.details.bytes === 'number' ? err.details.bytes : undefined };
        if (!reduced.has(ev) && this.o.reduce) {
          const r = this.o.reduce(ev, why);
          reduced.add(r);
          report.quarantined++;
          keep.push(r);
          this.o.logger.warn('event refused by the sink; delivered reduced to the quarantine', { code: err.code, recordId: this.identify(ev).recordId, bytes: why.bytes });
        } else {
          if (reduced.has(ev)) report.quarantined--;
          const who = this.identify(ev);
          report.lost.push({ ...who, code: err.code });
          this.o.logger.error('event refused by the sink even reduced; recorded as lost', { code: err.code, recordId: who.recordId });
        }
      }
      events = keep;
    }
  }

  private identify(ev: OutEvent): { recordId: string | null; recordType: number | null } {
    return this.o.identify?.(ev) ?? { recordId: null, recordType: null };
  }

  /** Indexes of events the sink refuses alone (only after a refusal that named none). */
  private findRefused(events: OutEvent[]): number[] {
    const out: number[] = [];
    for (let i = 0; i < events.length; i++) {
      try {
        this.sink.release(this.sink.encode([events[i]]));
      } catch (e) {
        if (!asBridgeError(e).retryable) out.push(i);
      }
    }
    return out;
  }

  private giveUp(e: BridgeError): void {
    if (this.failed) return;
    this.failed = e;
    this.o.logger.error('giving up on the receiver: what was not acknowledged stays unacknowledged in the checkpoint', { err: e });
    this.gaveUp.abort();
  }
}

function asBridgeError(e: unknown): BridgeError {
  return isBridgeError(e) ? e : new BridgeError('INTERNAL', String((e as Error)?.message ?? e), { retryable: true, cause: e });
}

function closedError(cause?: unknown): BridgeError {
  return new BridgeError('SINK_CLOSED', 'shutting down: batch not acknowledged', { retryable: true, cause });
}

function anySignal(a: AbortSignal, b: AbortSignal): AbortSignal {
  if (a.aborted) return a;
  if (b.aborted) return b;
  return AbortSignal.any([a, b]);
}

/** One batch handed to the delivery: which records of the blob it holds. */
export interface SentBatch {
  /** Position in the blob of its first and one past its last record (records are read in order). */
  from: number;
  to: number;
  /** Usable record Ids of its events (GUIDs kept as words: guid-table.ts IdList). */
  ids: IdList;
  /** Their de-dup keys, claimed as "on the way" until the batch settles. */
  keys: IdList;
  /** Events per record type (for the emitted counter). */
  types: Map<number | null, number>;
  /** Settles with the batch: true when acknowledged. */
  outcome: Promise<boolean>;
  resolve: (acked: boolean) => void;
}

/** Where a batcher marks its records as on their way (DeliveredIds). */
export interface Claims {
  claim(key: string, outcome: Promise<boolean>): void;
  unclaim(keys: Ids, outcome: Promise<boolean>): void;
}

/** One blob read's share of a batch: its records in it, and how they ended. */
interface Part extends SentBatch {
  readonly owner: BlobBatcher;
  /** Events of this read in the batch. */
  n: number;
  /** What the encoder quarantined or lost of them (streamed batches). */
  pre: BatchReport;
  /** Set by a read that ended with this part in the filling batch: called when the batch is handed over. */
  onHanded?: () => void;
}

/**
 * How long a batch holding the events of reads that ended waits for more from the lane's other
 * reads before it is handed over anyway: so small blobs fill batches (the in-flight window counts
 * batches), and a stalled download delays the others' acks by this much at most.
 */
export const LINGER_MS = 100;

/**
 * Fills batches for the blob reads of one (tenant, content type): the reads of a lane share the batch
 * being filled, so small blobs don't cap the in-flight window and memory holds one filling batch per
 * lane, not one per read. Each read's records in a batch are a contiguous run of its blob (a read adds
 * in order) and are told apart as a Part, so the ack tracker still learns per blob.
 *
 * At most one batch of a lane waits for room in the window: while it waits, every read of the lane
 * waits too (its next record is claimed first, see add), so memory is bounded by the lanes plus the
 * window, whatever blobConcurrency is.
 *
 * A read that ends (drain) leaves its events in the filling batch for the lane's next reads to join:
 * a batch is handed over when full, or LINGER_MS after the first read with events in it ended. With
 * blobs of 100 records, a batch handed over at each blob's end filled the window with small batches
 * (issue 17).
 *
 * A sink without an encoder batches parsed events; their reduced/lost outcome is only known per
 * batch, so such a lane is private to one read (Delivery.batcher).
 */
export class Lane {
  private enc: BatchEncoder | undefined;
  private events: OutEvent[] = [];
  private n = 0;
  private bytes = 0;
  /** Parts of the batch being filled; a part with no events yet only holds claims (its read waits). */
  private parts: Part[] = [];
  /** The batch waiting for room in the window, if any. */
  private handing: Promise<void> | undefined;
  /** Number of the batch being filled, so that a linger timer hands over only the batch it was set for. */
  private seq = 0;
  private lingerFor = -1;
  readonly streaming: boolean;

  constructor(
    private readonly delivery: Delivery,
    private readonly maxEvents: number,
    private readonly maxBytes: number,
  ) {
    this.streaming = delivery.streams;
  }

  /** A batcher for one blob read in this lane (in a private lane when the sink has no encoder). */
  batcher(onSettled?: (b: SentBatch, r: BatchReport | null) => void, claims?: Claims): BlobBatcher {
    const lane = this.streaming ? this : new Lane(this.delivery, this.maxEvents, this.maxBytes);
    return new BlobBatcher(lane, onSettled, claims);
  }

  /**
   * @internal (BlobBatcher) The read of `f` ended (once per read): the filling batch lingers for the
   * events of the lane's other and next reads, LINGER_MS at most. A private lane (a sink without an
   * encoder) has no other reads: handed over at once.
   */
  leave(f: BlobBatcher): void {
    if (f.left) return;
    f.left = true;
    if (this.n === 0) return;
    if (!this.streaming) {
      this.flush().catch(() => undefined); // its outcome reaches the read through its pending list
      return;
    }
    if (this.lingerFor === this.seq) return;
    const seq = (this.lingerFor = this.seq);
    // The clock's sleep never rejects; the batch is handed over even when stopping (it then fails
    // and its reads learn so), so no read waits for a batch nobody hands over.
    void this.delivery.clock.sleep(LINGER_MS).then(() => {
      if (this.seq === seq && this.n > 0) this.flush().catch(() => undefined);
    });
  }

  /** @internal (BlobBatcher) */
  add(f: BlobBatcher, ev: OutEvent, size: number, index: number, id: string | undefined, recordType: number | null, key: string | undefined, claimed: boolean): Promise<void> | undefined {
    const waitFor = this.handing ?? (this.n > 0 && this.bytes + size > this.maxBytes ? this.flush() : undefined);
    if (waitFor) {
      // The record is claimed now, on the read's part of the next batch, not once there is room: while
      // it waits, another blob's reader must see the record on its way, or it sends its own copy too.
      if (key !== undefined && !claimed) this.claim(f, this.partOf(f), key);
      return waitFor.then(() => this.add(f, ev, size, index, id, recordType, key, claimed || key !== undefined));
    }
    const part = this.partOf(f);
    if (this.streaming) {
      // Encoded now: the parsed record is not held while the batch fills (most of the GC cost was
      // copying records that waited here for the batch to be full).
      this.delivery.encodeInto((this.enc ??= this.delivery.openEncoder()), ev, part.pre);
    } else this.events.push(ev);
    if (part.n === 0) part.from = index;
    part.n++;
    part.to = index + 1;
    if (id !== undefined) part.ids.push(id);
    if (key !== undefined && !claimed) this.claim(f, part, key);
    part.types.set(recordType, (part.types.get(recordType) ?? 0) + 1);
    this.n++;
    this.bytes += size;
    if (this.n >= this.maxEvents) return this.flush();
    return undefined;
  }

  private partOf(f: BlobBatcher): Part {
    let p = f.cur;
    if (p === undefined) {
      p = newPart(f);
      f.cur = p;
      this.parts.push(p);
    }
    return p;
  }

  private claim(f: BlobBatcher, p: Part, key: string): void {
    p.keys.push(key);
    f.claims?.claim(key, p.outcome);
  }

  /** @internal (BlobBatcher) Whether `f` has events in the batch being filled. */
  holds(f: BlobBatcher): boolean {
    return f.cur !== undefined && f.cur.n > 0;
  }

  /**
   * Hands the batch being filled to the delivery (waits for room in the window). Resolves at once
   * when it is empty, or when a batch is already waiting: that one is handed over.
   */
  flush(): Promise<void> {
    if (this.n === 0) return this.handing ?? Promise.resolve();
    const sent: Part[] = [];
    const kept: Part[] = [];
    for (const p of this.parts) (p.n > 0 ? sent : kept).push(p);
    for (const p of sent) p.owner.cur = undefined;
    this.seq++;
    // Parts with claims only stay: their reads add their records to the next batch.
    this.parts = kept;
    const enc = this.enc;
    const events = this.events;
    const n = this.n;
    this.enc = undefined;
    this.events = [];
    this.n = 0;
    this.bytes = 0;
    const handed = this.hand(sent, enc, events, n);
    // Known to each read before the wait for room: a read that drains meanwhile waits for this batch too.
    const done = handed.then((d) => d.done);
    done.catch(() => undefined);
    for (const p of sent) {
      p.owner.pending.push(done);
      p.onHanded?.();
    }
    const h: Promise<void> = handed.then(
      () => {
        if (this.handing === h) this.handing = undefined;
      },
      (e: unknown) => {
        if (this.handing === h) this.handing = undefined;
        throw e;
      },
    );
    this.handing = h;
    return h;
  }

  private async hand(parts: Part[], enc: BatchEncoder | undefined, events: OutEvent[], n: number): Promise<{ done: Promise<BatchReport> }> {
    const ids = parts.length === 1 ? parts[0].ids : IdList.concat(parts.map((p) => p.ids));
    // Settled before the batch's slot is free (see Delivery.freeSlotAfter).
    const outcome: Outcome = (r) => {
      for (const p of parts) this.settled(p, r === null ? null : partReport(p, r));
    };
    try {
      if (!this.streaming) return await this.delivery.dispatch(events, ids, outcome);
      const pre = emptyReport();
      for (const p of parts) {
        pre.quarantined += p.pre.quarantined;
        for (const l of p.pre.lost) pre.lost.push(l);
      }
      return await this.delivery.dispatchEncoded(enc, n, ids, pre, outcome);
    } catch (e) {
      for (const p of parts) this.settled(p, null);
      throw e;
    }
  }

  private settled(p: Part, r: BatchReport | null): void {
    // The tracker learns first, so a reader woken by the outcome finds the Ids delivered.
    p.owner.onSettled?.(p, r);
    p.owner.claims?.unclaim(p.keys, p.outcome);
    p.resolve(r !== null);
  }

  /**
   * @internal (BlobBatcher) The read of `f` is abandoned: what it has in the filling batch is dropped
   * when the batch is its alone; events shared with other reads' bytes can't be taken out, so that
   * batch is handed over (they are then delivered and recorded like any other).
   */
  abandon(f: BlobBatcher): Promise<void> {
    const p = f.cur;
    if (p === undefined) return Promise.resolve();
    if (p.n > 0 && p.n < this.n) return this.flush().catch(() => undefined);
    if (p.n > 0) {
      // The filling batch is this read's alone: dropped, as if never read.
      this.enc?.abandon();
      this.enc = undefined;
      this.events = [];
      this.n = 0;
      this.bytes = 0;
      this.seq++;
    }
    f.cur = undefined;
    this.parts = this.parts.filter((q) => q !== p);
    this.settled(p, null);
    return Promise.resolve();
  }
}

/**
 * A part's share of its batch's outcome: what it quarantined or lost on the way, and its encoded events
 * acknowledged; a batch refused after encoding (`r.acked` short of the batch) reports them lost by Id.
 */
function partReport(p: Part, r: BatchReport): BatchReport {
  if (!p.owner.lane.streaming) return r; // private lane: one part per batch
  const encoded = p.n - p.pre.lost.length;
  if (r.acked > 0 || encoded === 0) return { acked: encoded, quarantined: p.pre.quarantined, lost: p.pre.lost };
  const code = r.lost.length > 0 ? r.lost[r.lost.length - 1].code : 'SINK_REFUSED';
  return { acked: 0, quarantined: 0, lost: [...p.pre.lost, ...[...p.ids].map((recordId) => ({ recordId, recordType: null, code }))] };
}

/** Collects one blob read's events into its lane's batches, and reports each of its parts' outcome exactly once. */
export class BlobBatcher {
  /** @internal (Lane) This read's part of the batch being filled. */
  cur: Part | undefined;
  /** @internal (Lane) The batches holding this read's events, settling with their outcome. */
  readonly pending: Array<Promise<BatchReport>> = [];
  /** @internal (Lane) The read ended (drained or settled). */
  left = false;

  constructor(
    /** @internal */
    readonly lane: Lane,
    /** r is null when the batch was not acknowledged (given up, stopped, or never sent). */
    readonly onSettled?: (b: SentBatch, r: BatchReport | null) => void,
    readonly claims?: Claims,
  ) {}

  /**
   * Adds the event of the record at `index` in the blob; `size` is its approximate encoded size (its
   * JSON byte length), `id` its usable record Id and `key` its de-dup key. Returns a promise only when
   * a batch had to be handed over (the caller awaits it then), so the common case costs no microtask.
   */
  add(ev: OutEvent, size: number, index: number, id: string | undefined, recordType: number | null, key?: string): Promise<void> | undefined {
    return this.lane.add(this, ev, size, index, id, recordType, key, false);
  }

  /**
   * Ends the read and waits until every batch holding its events has its outcome; rejects if one was
   * not acknowledged. Its events still in the filling batch go with the lane's next batch (see Lane).
   */
  async drain(): Promise<void> {
    const p = this.lane.holds(this) ? this.cur! : undefined;
    const handed = p ? new Promise<void>((r) => (p.onHanded = r)) : undefined;
    this.lane.leave(this);
    if (handed) await handed;
    await Promise.all(this.pending);
  }

  /** Gives up what was not handed over yet, and waits for batches already sent (abandoning a read). */
  async settle(): Promise<void> {
    await this.lane.abandon(this);
    this.lane.leave(this);
    await Promise.allSettled(this.pending);
  }
}

function newPart(owner: BlobBatcher): Part {
  const b = newBatch(0);
  return Object.assign(b, { owner, n: 0, pre: emptyReport() });
}

function newBatch(from: number): SentBatch {
  let resolve!: (acked: boolean) => void;
  const outcome = new Promise<boolean>((r) => (resolve = r));
  return { from, to: from, ids: new IdList(), keys: new IdList(), types: new Map(), outcome, resolve };
}

function emptyReport(): BatchReport {
  return { acked: 0, quarantined: 0, lost: [] };
}
