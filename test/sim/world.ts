/**
 * A deterministic world for the delivery simulation: a virtual clock, a Management Activity API
 * stand-in, a receiver stand-in and an in-memory checkpoint store, around the REAL poller, delivery,
 * ack tracker, de-dup, router and checkpoint shape check. No real timer: time moves only when every
 * promise chain is waiting on the virtual clock (setImmediate is used to let microtasks run out).
 *
 * A schedule (see Schedule) says what the source holds and when, which fetches and deliveries fail
 * and how, and when the bridge is killed (kill -9: its memory is gone, its in-flight work never
 * lands, the next session reloads the store). Invariants checked:
 * - at every checkpoint write: the checkpoint covers no record that was not acknowledged (or reported
 *   lost with its Id, or lost with its blob at the source);
 * - at the end: every record the source holds was acknowledged at least once or reported lost;
 * - duplicates (acknowledged receipts of one record) within the stated bound;
 * - at every write of the delivered-blob record (issue 14): it holds no blob with a record not
 *   acknowledged (nor reported lost).
 * The reconciliation sweep runs too (every RECONCILE_MS of virtual time, over an in-memory record that
 * a kill -9 cuts like the store), and some blobs are listed hours to days late, past the trailing
 * window: only the sweep finds those.
 */
import type { ActivityApi, ContentRef, EncodedBatch, OutEvent, RecordValidator, Sink } from '../../src/contracts';
import { BridgeError } from '../../src/errors';
import { silentLogger } from '../../src/obs/log';
import { noopMetrics } from '../../src/obs/metrics';
import { createRouter, META_KEY } from '../../src/shape/event';
import { Delivery } from '../../src/core/delivery';
import { DeliveredIds, usableId } from '../../src/core/dedup';
import { RecentIdsStore } from '../../src/state/recent-ids-store';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeReducer } from '../../src/core/rejects';
import { Semaphore, type Clock } from '../../src/core/limits';
import { checkpointShapeProblem, type Checkpoint } from '../../src/state/checkpoint';
import { ContentTypePoller } from '../../src/sources/o365/poller';
import { Reconciler, type BlobRecord } from '../../src/sources/o365/reconcile';
import type { SweepRecord } from '../../src/state/delivered-blobs';
import { BlobFailures } from '../../src/sources/o365/windows';

// ---- the schedule --------------------------------------------------------------------------------

/** `refuse`: a non-retryable answer for this blob alone (as a 302 / 431): given up after BLOB_GIVE_UP_MS of them. */
export type FetchFault = 'ok' | 'cut' | 'cut-error' | 'fail' | 'throttle' | 'refuse';
export type SinkFault = 'ack' | 'slow' | 'lost-ack' | 'drop' | 'ack-lost-in-transit';

export interface BlobSpec {
  /** Content type index (0 or 1). */
  ct: number;
  /** Seconds after the start of the faulty phase (negative: before the first run). */
  createdSec: number;
  records: number;
  /** Listed this many seconds after contentCreated (late content). */
  lateSec: number;
  /** Listed twice in one listing. */
  dupInListing: boolean;
  /** Behaviour of successive fetches; 'ok' after the list runs out. */
  fetches: FetchFault[];
  /** Expires this many seconds after creation (0: the usual 7 days). */
  expiresSec: number;
  /** Record positions whose Id is missing / empty / not a string. */
  noId: number[];
  /** Record positions too large for the sink once encoded. */
  tooLarge: number[];
  /** The reduced form of a too-large record is refused too (then it is lost). */
  hopeless: boolean;
  /** Position whose Id repeats an earlier blob's first record (Microsoft re-delivering), if any. */
  reDelivered: number | null;
}

export interface Schedule {
  blobs: BlobSpec[];
  /** Behaviour of successive deliveries; 'ack' after the list runs out. */
  sink: SinkFault[];
  /** Listing calls that are throttled (by call number). */
  listThrottled: number[];
  /** Kill -9 at these seconds of the faulty phase. */
  crashesSec: number[];
  blobConcurrency: number;
  maxBatchEvents: number;
  maxInFlight: number;
  /** Length of the faulty phase (s); then a calm session finishes the job. */
  phaseSec: number;
  /** No reconciliation sweep (a control: blobs listed later than the trailing window are then missed). */
  noSweep?: boolean;
}

// ---- the virtual clock -------------------------------------------------------------------------

interface Timer {
  at: number;
  seq: number;
  session: number;
  fire: () => void;
}

export class SimClock {
  t: number;
  private timers: Timer[] = [];
  private seq = 0;
  private rnd: number;

  constructor(start: number, seed: number) {
    this.t = start;
    this.rnd = seed >>> 0 || 1;
  }

  /** A Clock for one session: its timers die with it (kill -9). */
  forSession(session: number): Clock {
    return {
      now: () => this.t,
      random: () => this.random(),
      sleep: (ms, signal) => this.sleep(session, ms, signal),
    };
  }

  random(): number {
    // xorshift32: deterministic jitter.
    let x = this.rnd;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rnd = x >>> 0;
    return this.rnd / 0x100000000;
  }

  sleep(session: number, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted || ms <= 0) return resolve();
      const timer: Timer = { at: this.t + ms, seq: this.seq++, session, fire: () => done() };
      const done = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        this.timers = this.timers.filter((x) => x !== timer);
        done();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.timers.push(timer);
    });
  }

  /** A callback at a virtual time (the receiver's and the API's delays). */
  at(session: number, ms: number, fire: () => void): void {
    this.timers.push({ at: this.t + ms, seq: this.seq++, session, fire });
  }

  kill(session: number): void {
    this.timers = this.timers.filter((x) => x.session !== session);
  }

  /** Fires the earliest timer not after `until`; false when there is none. */
  step(until: number): boolean {
    let best: Timer | undefined;
    for (const x of this.timers) if (x.at <= until && (!best || x.at < best.at || (x.at === best.at && x.seq < best.seq))) best = x;
    if (!best) return false;
    this.timers = this.timers.filter((x) => x !== best);
    if (best.at > this.t) this.t = best.at;
    best.fire();
    return true;
  }

  get pending(): number {
    return this.timers.length;
  }
}

/** Lets every pending microtask chain run out (no I/O in the simulation, so one macrotask turn does). */
const settle = () => new Promise<void>((r) => setImmediate(r));

/** Cheaper than `settle`: a fixed number of microtask turns (deterministic either way). */
async function ticks(): Promise<void> {
  for (let i = 0; i < 64; i++) await null;
}

// ---- the world -----------------------------------------------------------------------------------

const TENANT = 'sim-tenant';
const CONTENT_TYPES = ['Audit.General', 'Audit.Exchange'];
const T0 = Date.parse('2024-05-01T12:00:00Z');
const INTERVAL_MS = 60_000;
/** A blob refused this long (from its first refusal, within a session) is given up: recorded lost. */
const BLOB_GIVE_UP_MS = 90_000;
const ACK_TIMEOUT_MS = 5_000;
const TRAILING_MS = 120 * 60_000;
const RECONCILE_MS = 5 * 60_000;

interface RecordFile {
  createdAt: number;
  coverageStart: number | null;
  lastSweep?: SweepRecord;
  ids: string[];
}

interface SimRecord {
  key: string;
  id: string | undefined;
  body: Record<string, unknown>;
  tooLarge: boolean;
}

interface SimBlob {
  spec: BlobSpec;
  ref: ContentRef;
  created: number;
  availableAt: number;
  expires: number;
  records: SimRecord[];
  fetches: number;
}

export interface SimResult {
  violations: string[];
  stats: { acked: number; duplicates: number; lost: number; sessions: number; passes: number; steps: number };
}

export class World {
  readonly clock: SimClock;
  readonly blobs: SimBlob[] = [];
  /** Receiver side: acknowledged receipts per record key, and Ids acknowledged. */
  readonly ackedKeys = new Map<string, number>();
  readonly ackedIds = new Set<string>();
  /** Receipts the receiver acknowledged whose ack never reached the bridge, per record key. */
  readonly lostAcks = new Map<string, number>();
  readonly files = new Map<string, string>();
  /** The delivered-blob records as last written, per content type. */
  readonly recordFiles = new Map<string, string>();
  readonly violations: string[] = [];
  session = 0;
  private sinkCalls = 0;
  private listCalls = 0;
  faulty = true;
  passes = 0;
  steps = 0;

  /**
   * The real record Id store (file + journal) in a temp dir: the journal is written synchronously at
   * each ack, so a kill -9 of a session keeps what it wrote, as the kernel would.
   */
  private readonly idsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'o365fb-sim-ids-'));

  constructor(readonly s: Schedule) {
    this.clock = new SimClock(T0, 0x9e3779b9 ^ (s.blobs.length * 7919 + s.sink.length));
    let n = 0;
    const firstIds: string[] = [];
    s.blobs.forEach((spec, b) => {
      const created = T0 + spec.createdSec * 1000;
      const records: SimRecord[] = [];
      for (let i = 0; i < spec.records; i++) {
        const key = `b${b}r${i}`;
        // GUIDs (what Microsoft sends, kept in DeliveredIds' typed-array tables) and, in every third blob, other strings (its Sets).
        let id: string | undefined = b % 3 === 2 ? `id-${b}-${i}` : `${b.toString(16).padStart(8, '0')}-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
        const noIdKind = spec.noId.includes(i) ? n++ % 3 : -1;
        if (spec.reDelivered === i && firstIds.length > 0) id = firstIds[b % firstIds.length];
        const body: Record<string, unknown> = { SimKey: key, RecordType: 1, CreationTime: new Date(created).toISOString().slice(0, 19), Operation: 'Op' };
        if (noIdKind === 0) id = undefined;
        else if (noIdKind === 1) body.Id = '';
        else if (noIdKind === 2) body.Id = 42;
        if (noIdKind < 0) body.Id = id;
        else id = undefined;
        const tooLarge = spec.tooLarge.includes(i);
        if (tooLarge) body.Big = true;
        records.push({ key, id, body, tooLarge });
      }
      if (records[0]?.id) firstIds.push(records[0].id);
      const contentId = `blob-${String(b).padStart(3, '0')}`;
      const expires = spec.expiresSec > 0 ? created + spec.expiresSec * 1000 : created + 7 * 86_400_000;
      this.blobs.push({
        spec,
        created,
        availableAt: created + spec.lateSec * 1000,
        expires,
        records,
        fetches: 0,
        ref: {
          contentType: CONTENT_TYPES[spec.ct],
          contentId,
          contentUri: `https://sim.test/${contentId}`,
          contentCreated: new Date(created).toISOString().replace('.000Z', 'Z'),
          contentExpiration: new Date(expires).toISOString(),
        },
      });
    });
  }

  // ---- the API ----

  api(session: number): ActivityApi {
    const w = this;
    const alive = () => w.session === session;
    return {
      tenantId: TENANT,
      async ensureSubscriptions() {
        return [];
      },
      async *listContent(contentType: string, start: Date, end: Date): AsyncGenerator<ContentRef[]> {
        const call = w.listCalls++;
        await w.clock.sleep(session, 10);
        if (!alive()) await new Promise(() => undefined);
        if (w.faulty && w.s.listThrottled.includes(call)) throw new BridgeError('API_THROTTLED', 'sim: throttled', { retryable: true });
        const now = w.clock.t;
        const page: ContentRef[] = [];
        for (const b of w.blobs) {
          if (b.ref.contentType !== contentType || b.availableAt > now) continue;
          if (b.created < start.getTime() || b.created >= end.getTime()) continue;
          page.push({ ...b.ref });
          if (b.spec.dupInListing) page.push({ ...b.ref });
        }
        // Two pages, so listing order is not one sorted array.
        const half = Math.floor(page.length / 2);
        yield page.slice(half);
        yield page.slice(0, half);
      },
      async fetchBlob(uri: string): Promise<AsyncIterable<Buffer>> {
        const b = w.blobs.find((x) => x.ref.contentUri === uri)!;
        const fault: FetchFault = w.faulty ? (b.spec.fetches[b.fetches] ?? 'ok') : 'ok';
        b.fetches++;
        await w.clock.sleep(session, 20);
        if (!alive()) await new Promise(() => undefined);
        if (w.clock.t >= b.expires) throw new BridgeError('CONTENT_EXPIRED', 'sim: expired', { retryable: false });
        if (fault === 'fail') throw new BridgeError('API_SERVER', 'sim: 500', { retryable: true });
        if (fault === 'throttle') throw new BridgeError('API_THROTTLED', 'sim: throttled', { retryable: true });
        if (fault === 'refuse') throw new BridgeError('API_BAD_REQUEST', 'sim: unexpected redirect (HTTP 302)', { retryable: false });
        const text = JSON.stringify(b.records.map((r) => r.body));
        const cutAt = b.records.length > 1 ? text.indexOf(JSON.stringify(b.records[Math.floor(b.records.length / 2)].body)) : Math.floor(text.length / 2);
        const clock = w.clock;
        async function* body(): AsyncGenerator<Buffer> {
          if (fault === 'cut' || fault === 'cut-error') {
            yield Buffer.from(text.slice(0, cutAt));
            await clock.sleep(session, 5);
            if (!alive()) await new Promise(() => undefined);
            if (fault === 'cut-error') throw new BridgeError('API_NETWORK', 'sim: connection reset', { retryable: true });
            return; // ends early: the reader finds it truncated
          }
          // Two chunks, split inside a record.
          const mid = Math.floor(text.length / 2);
          yield Buffer.from(text.slice(0, mid));
          yield Buffer.from(text.slice(mid));
        }
        return body();
      },
    };
  }

  // ---- the receiver ----

  sink(session: number): Sink {
    const w = this;
    interface B extends EncodedBatch {
      recs: Array<{ key: string; id: string | undefined }>;
    }
    return {
      encode(events: OutEvent[]): EncodedBatch {
        for (let i = 0; i < events.length; i++) {
          const r = events[i].record;
          const reduced = !!(r[META_KEY] as { rejected?: unknown } | undefined)?.rejected;
          const hopeless = reduced && w.blobOfKey(String(r.SimKey))?.spec.hopeless;
          if ((!reduced && r.Big === true) || hopeless) {
            throw new BridgeError('SINK_EVENT_TOO_LARGE', `sim: event ${i} too large`, { retryable: false, details: { index: i, bytes: 9_999_999 } });
          }
        }
        const b: B = { events: events.length, bytes: events.length * 100, recs: events.map((e) => ({ key: String(e.record.SimKey), id: usableId(e.record) })) };
        return b;
      },
      deliver(batch: EncodedBatch): Promise<void> {
        const b = batch as B;
        const fault: SinkFault = w.faulty ? (w.s.sink[w.sinkCalls] ?? 'ack') : 'ack';
        w.sinkCalls++;
        return new Promise<void>((resolve, reject) => {
          const ack = () => {
            for (const r of b.recs) {
              w.ackedKeys.set(r.key, (w.ackedKeys.get(r.key) ?? 0) + 1);
              if (r.id !== undefined) w.ackedIds.add(r.id);
            }
          };
          if (w.session !== session) return; // a dead process sends nothing
          switch (fault) {
            case 'ack':
              w.clock.at(session, 3, () => (ack(), resolve()));
              break;
            case 'slow':
              w.clock.at(session, ACK_TIMEOUT_MS - 100, () => (ack(), resolve()));
              break;
            case 'lost-ack': // received, never acknowledged: the bridge times out
              w.clock.at(session, ACK_TIMEOUT_MS, () => reject(new BridgeError('SINK_ACK_TIMEOUT', 'sim: no ack', { retryable: true })));
              break;
            case 'ack-lost-in-transit': // acknowledged by the receiver, the ack never arrives
              w.clock.at(-1, 2, () => {
                ack();
                for (const r of b.recs) w.lostAcks.set(r.key, (w.lostAcks.get(r.key) ?? 0) + 1);
              });
              w.clock.at(session, ACK_TIMEOUT_MS, () => reject(new BridgeError('SINK_ACK_TIMEOUT', 'sim: ack lost', { retryable: true })));
              break;
            case 'drop':
              w.clock.at(session, 1, () => reject(new BridgeError('SINK_UNREACHABLE', 'sim: connection dropped', { retryable: true })));
              break;
          }
        });
      },
      release() {},
      async close() {},
    };
  }

  private blobOfKey(key: string): SimBlob | undefined {
    const m = /^b(\d+)r/.exec(key);
    return m ? this.blobs[Number(m[1])] : undefined;
  }

  // ---- the store ----

  store(session: number) {
    const w = this;
    return {
      async load(tenantId: string, contentType: string): Promise<Checkpoint | null> {
        const text = w.files.get(`${tenantId}/${contentType}`);
        if (text === undefined) return null;
        const cp = JSON.parse(text) as unknown;
        const problem = checkpointShapeProblem(cp);
        if (problem) throw new Error(`sim: checkpoint ${problem}`);
        return cp as Checkpoint;
      },
      async save(cp: Checkpoint): Promise<void> {
        const body = JSON.stringify(cp);
        await w.clock.sleep(session, 2);
        if (w.session !== session) return new Promise<void>(() => undefined); // killed mid-write: the old file stays
        w.files.set(`${cp.tenantId}/${cp.contentType}`, body);
        w.checkCovered(JSON.parse(body) as Checkpoint);
      },
    };
  }

  // ---- the delivered-blob record (in memory; a write is cut by a kill like the store's) ----

  openRecord(session: number, ct: string): BlobRecord {
    const w = this;
    const text = w.recordFiles.get(ct);
    const file: RecordFile = text ? (JSON.parse(text) as RecordFile) : { createdAt: w.clock.t, coverageStart: null, ids: [] };
    const ids = new Set(file.ids);
    return {
      existed: text !== undefined,
      has: (id: string) => ids.has(id),
      add: (id: string) => void ids.add(id),
      get createdAt() {
        return file.createdAt;
      },
      get coverageStart() {
        return file.coverageStart;
      },
      noteCoverageStart(ms: number) {
        if (file.coverageStart === null) file.coverageStart = ms;
      },
      get lastSweep() {
        return file.lastSweep;
      },
      setLastSweep(s: SweepRecord) {
        file.lastSweep = s;
      },
      async flush() {
        const body = JSON.stringify({ ...file, ids: [...ids] });
        await w.clock.sleep(session, 2);
        if (w.session !== session) return new Promise<void>(() => undefined);
        w.recordFiles.set(ct, body);
        w.checkRecord(ct, new Set(ids));
      },
    };
  }

  // ---- invariants ----

  /** The delivered-blob record holds only finished blobs. */
  checkRecord(ct: string, ids: Set<string>): void {
    const text = this.files.get(`${TENANT}/${ct}`);
    const cp: Checkpoint = text ? (JSON.parse(text) as Checkpoint) : { version: 1, tenantId: TENANT, contentType: ct, cursor: null, doneAtCursor: [], recent: [], lost: [], updatedAt: '' };
    for (const b of this.blobs) {
      if (b.ref.contentType !== ct || !ids.has(b.ref.contentId)) continue;
      for (const r of b.records) {
        if (!this.satisfied(b, r, cp)) {
          this.violations.push(`t+${(this.clock.t - T0) / 1000}s: delivered-blob record ${ct} holds ${b.ref.contentId}, record ${r.key} never acknowledged`);
          return;
        }
      }
    }
  }

  private satisfied(b: SimBlob, r: SimRecord, cp: Checkpoint): boolean {
    if ((this.ackedKeys.get(r.key) ?? 0) > 0) return true;
    if (r.id !== undefined && this.ackedIds.has(r.id)) return true;
    return cp.lost.some((l) => l.contentId === b.ref.contentId && (l.recordId === undefined || (r.id !== undefined ? l.recordId === r.id : l.recordId === null)));
  }

  /** No checkpoint covers a record that was not acknowledged (nor reported lost). */
  checkCovered(cp: Checkpoint): void {
    const recent = new Set(cp.recent.map(([id]) => id));
    for (const b of this.blobs) {
      if (b.ref.contentType !== cp.contentType) continue;
      const byCursor =
        cp.cursor !== null && b.spec.lateSec === 0 && (b.created < Date.parse(cp.cursor) || (b.ref.contentCreated === cp.cursor && cp.doneAtCursor.includes(b.ref.contentId)));
      if (!byCursor && !recent.has(b.ref.contentId)) continue;
      for (const r of b.records) {
        if (!this.satisfied(b, r, cp)) {
          this.violations.push(`t+${(this.clock.t - T0) / 1000}s: checkpoint ${cp.contentType} (cursor ${cp.cursor}, ${recent.has(b.ref.contentId) ? 'recent' : 'cursor'}) covers ${b.ref.contentId} record ${r.key}, never acknowledged`);
          return;
        }
      }
    }
  }

  finalCheck(): void {
    for (const ct of CONTENT_TYPES) {
      const text = this.files.get(`${TENANT}/${ct}`);
      const cp: Checkpoint = text ? (JSON.parse(text) as Checkpoint) : { version: 1, tenantId: TENANT, contentType: ct, cursor: null, doneAtCursor: [], recent: [], lost: [], updatedAt: '' };
      for (const b of this.blobs) {
        if (b.ref.contentType !== ct) continue;
        for (const r of b.records) {
          if (!this.satisfied(b, r, cp)) this.violations.push(`end: ${b.ref.contentId} record ${r.key} (${ct}) never acknowledged nor reported lost`);
        }
      }
    }
  }

  // ---- running ----

  private startSession(): { done: Promise<void>; stop: () => void } {
    const session = ++this.session;
    const clock = this.clock.forSession(session);
    const stopFetching = new AbortController();
    const stopDelivery = new AbortController();
    const sink = this.sink(session);
    const router = createRouter({ tagPrefix: 'sim', now: clock.now });
    const reducer = makeReducer({ keep: ['Id', 'RecordType', 'CreationTime', 'Operation', 'SimKey'], metaKey: META_KEY, excerptBytes: 200, tag: (ev) => 'sim.invalid.' + ev.tag });
    const delivery = new Delivery(sink, {
      maxBatchEvents: this.s.maxBatchEvents,
      maxBatchBytes: 1 << 20,
      maxInFlight: this.s.maxInFlight,
      maxBackoffMs: 4_000,
      logger: silentLogger,
      signal: stopDelivery.signal,
      clock,
      reduce: reducer,
      identify: (ev) => ({ recordId: usableId(ev.record) ?? null, recordType: 1 }),
    });
    // hours: past the calm phase's jump (days): the 24 h age bound is stated apart ("repeats more than
    // 24 h apart"); here the crash bound is checked.
    const idStore = new RecentIdsStore(this.idsDir, { tenantId: TENANT, hours: 7 * 24, now: clock.now, onProblem: (m) => this.violations.push(`record Id store: ${m}`) });
    const delivered = new DeliveredIds(100_000, (_t, ids) => idStore.noteDelivered(ids));
    delivered.seed(TENANT, idStore.loadSync());
    const slots = new Semaphore(this.s.blobConcurrency);
    const validator: RecordValidator = { mode: 'default', validate: (r) => ({ valid: true, recordType: (r as { RecordType?: number }).RecordType ?? null, errors: [], warnings: [] }) };
    const api = this.api(session);
    const store = this.store(session);
    // One Reconciler per content type for the session (as the bridge keeps one across passes).
    const reconcilers = new Map(
      CONTENT_TYPES.map((ct) => [
        ct,
        new Reconciler({
          stateDir: '/nonexistent',
          tenantId: TENANT,
          contentType: ct,
          intervalMs: RECONCILE_MS,
          ageMarginMs: 15 * 60_000,
          concurrency: this.s.blobConcurrency,
          listContent: (start, end) => api.listContent(ct, start, end),
          logger: silentLogger,
          countLate: () => {},
          now: clock.now,
          stop: stopFetching.signal,
          openRecord: async () => this.openRecord(session, ct),
        }),
      ]),
    );
    // Kept across passes, as the bridge keeps them (and lost with the process, as the bridge's are).
    const failures = new Map(CONTENT_TYPES.map((ct) => [ct, new BlobFailures(BLOB_GIVE_UP_MS)] as const));
    const loop = async () => {
      while (!stopFetching.signal.aborted) {
        this.passes++;
        await Promise.all(
          CONTENT_TYPES.map((ct) =>
            new ContentTypePoller(
              { tenantId: TENANT, contentType: ct, api, store, validator, router, delivery, delivered, blobSlots: slots, logger: silentLogger, metrics: noopMetrics, clock, reconcile: this.s.noSweep ? undefined : reconcilers.get(ct), blobFailures: failures.get(ct) },
              {
                // Past the calm phase's jump (blobs listed up to 2 days late): every blob is in scope.
                initialLookbackMs: 3 * 86_400_000,
                trailingMs: TRAILING_MS,
                ageMarginMs: 15 * 60_000,
                blobConcurrency: this.s.blobConcurrency,
                maxBlobAttempts: 3,
                maxRecordBytes: 1 << 20,
                recentBlobsCapacity: 10_000,
                stopFetching: stopFetching.signal,
              },
            ).runPass(),
          ),
        );
        await clock.sleep(INTERVAL_MS, stopFetching.signal);
      }
    };
    return {
      done: loop(),
      stop: () => {
        stopFetching.abort();
        stopDelivery.abort();
        idStore.closeJournal();
      },
    };
  }

  /** Runs the clock until `until` (or until `done` settles, if given). */
  private async drive(until: number, done?: Promise<void>): Promise<void> {
    let finished = false;
    done?.then(
      () => (finished = true),
      (e: unknown) => {
        finished = true;
        this.violations.push(`session failed: ${(e as Error)?.stack ?? String(e)}`);
      },
    );
    for (;;) {
      await ticks();
      if (finished) return;
      if (!this.clock.step(until)) {
        // Nothing due: make sure no chain is still running before concluding.
        await settle();
        if (finished) return;
        if (this.clock.step(until)) continue;
        if (this.clock.t < until) this.clock.t = until;
        return;
      }
      this.steps++;
    }
  }

  async run(): Promise<SimResult> {
    try {
      return await this.runSessions();
    } finally {
      fs.rmSync(this.idsDir, { recursive: true, force: true });
    }
  }

  private async runSessions(): Promise<SimResult> {
    const end = T0 + this.s.phaseSec * 1000;
    const crashes = [...new Set(this.s.crashesSec)].map((c) => T0 + c * 1000).filter((c) => c < end).sort((a, b) => a - b);
    for (const c of [...crashes, end]) {
      const sess = this.startSession();
      await this.drive(c, sess.done);
      // kill -9: nothing of this session lands any more.
      this.clock.kill(this.session);
      this.session++;
      sess.stop();
    }
    // Calm: no more faults, once every blob is listable; a session runs passes over one sweep interval
    // (a blob listed later than the trailing window is found by the sweep only), then stops cleanly.
    this.faulty = false;
    this.clock.t = Math.max(this.clock.t, ...this.blobs.map((b) => b.availableAt + 1000));
    const sess = this.startSession();
    const passesBefore = this.passes;
    const stopAfter = (async () => {
      while (this.passes < passesBefore + 2 + Math.ceil(RECONCILE_MS / INTERVAL_MS)) await this.clock.sleep(-1, 1000);
      await this.clock.sleep(-1, INTERVAL_MS / 2);
      sess.stop();
    })();
    await this.drive(this.clock.t + 3 * 3_600_000, Promise.all([sess.done, stopAfter]).then(() => undefined));
    this.finalCheck();
    // The faulty phase ends with a kill too.
    this.checkDuplicates(crashes.length + 1);
    let dups = 0;
    for (const n of this.ackedKeys.values()) dups += Math.max(0, n - 1);
    return { violations: this.violations, stats: { acked: this.ackedKeys.size, duplicates: dups, lost: 0, sessions: this.session, passes: this.passes, steps: this.steps } };
  }

  /**
   * The stated bound: a record with a usable Id is acknowledged again only after a crash, at most
   * once per crash; and per crash, at most what was in flight (maxInFlight batches of maxBatchEvents):
   * every Id acknowledged before the kill is in the record Id journal. A record without an Id can come
   * again each time its blob is fetched again.
   */
  private checkDuplicates(crashes: number): void {
    let extra = 0;
    for (const b of this.blobs) {
      for (const r of b.records) {
        const n = this.ackedKeys.get(r.key) ?? 0;
        const lostAcks = this.lostAcks.get(r.key) ?? 0;
        const max = (r.id !== undefined ? 1 + crashes : Math.max(1, b.fetches)) + lostAcks;
        if (n > max) this.violations.push(`duplicates: ${r.key} acknowledged ${n} times (bound ${max})`);
        if (r.id !== undefined) extra += Math.max(0, n - 1 - lostAcks);
      }
    }
    const bound = crashes * this.s.maxInFlight * this.s.maxBatchEvents;
    if (extra > bound) this.violations.push(`duplicates: ${extra} re-acknowledged records with an Id after ${crashes} crash(es), over the bound ${bound}`);
  }
}

export async function runSchedule(s: Schedule): Promise<SimResult> {
  return new World(s).run();
}
