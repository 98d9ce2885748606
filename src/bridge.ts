/**
 * Wires the stages, and is the only place that does: config → auth → api client → poller → blob
 * reader → validator → router → sink → checkpoint. Owns the run loop, tenant isolation (one tenant's
 * failure never stops another), and graceful shutdown in two phases:
 *   1. stop fetching: no new listing or blob reads; blobs already read wait for their acks;
 *   2. after `shutdownGraceMs`, stop delivery retries; what was not acknowledged keeps the checkpoint back.
 */
import type { ActivityClient } from './sources/o365/api/client';
import type { HttpStack } from './net/http';
import { createTenantClient } from './sources/o365/tenant-client';
import type { Config, TenantConfig } from './config/types';
import type { ActivityApi, OutEvent, RecordValidator, Sink } from './contracts';
import { BridgeError, isBridgeError } from './errors';
import { createLogger, type Logger } from './obs/log';
import { noopMetrics, type Metrics } from './obs/metrics';
import { createRouter, META_KEY } from './shape/event';
import { TagTable } from './shape/tags';
import { createValidator } from './schema/validator';
import { sinkModule } from './sinks';
import { CheckpointStore } from './state/checkpoint';
import { DeliveredIds } from './core/dedup';
import { recordIdentity } from './shape/ecs';
import { FileStartLog } from './state/subscriptions';
import { RecentIdsStore } from './state/recent-ids-store';
import { Delivery } from './core/delivery';
import { makeReducer } from './core/rejects';
import { realClock, Semaphore, type Clock } from './core/limits';
import { TenantScheduler } from './core/schedule';
import { ContentTypePoller, type PassResult, type ProgressLike, type RouterLike } from './sources/o365/poller';
import { BlobFailures } from './sources/o365/windows';
import { HOUR_MS } from './sources/o365/windows';
import { Reconciler } from './sources/o365/reconcile';

export interface BridgeOptions {
  logger?: Logger;
  metrics?: Metrics;
  progress?: ProgressLike;
  /** A sink to use instead of the one the config describes (tests, demo). */
  sink?: Sink;
  /** Time (tests, the simulation): default the real one. */
  clock?: Clock;
  /** Shorthand for a clock whose `now` is this (sleeps stay real). */
  now?: () => number;
  /** How long phase 1 of a shutdown waits for acknowledgements. Default: the ack timeout + 5 s. */
  shutdownGraceMs?: number;
  /**
   * run --once: how long one batch may keep failing (receiver unreachable, not acknowledging) before
   * the run gives the receiver up. Default ONCE_GIVE_UP_MS. A refused handshake gives up at once.
   */
  onceGiveUpMs?: number;
}

/** run --once gives the receiver up after this long of failed attempts of one batch (see README). */
export const ONCE_GIVE_UP_MS = 30_000;

/** Fields a refused event keeps in its reduced form (with the reason, its size and an excerpt). */
const REDUCED_KEEP = ['Id', 'RecordType', 'CreationTime', 'Operation'] as const;

export interface PassSummary {
  startedAt: string;
  finishedAt: string;
  results: PassResult[];
  /** Tenants whose pass failed before any content type ran (auth, subscriptions). */
  tenantErrors: Array<{ tenantId: string; error: BridgeError }>;
  /**
   * run --once only: the receiver was given up (refused the handshake, or stayed unreachable or silent
   * for onceGiveUpMs); what it did not acknowledge stays unacknowledged in the checkpoint.
   */
  sinkError?: BridgeError;
}

interface TenantRuntime {
  cfg: TenantConfig;
  http: HttpStack;
  api: ActivityClient;
  blobSlots: Semaphore;
  /** Content types known enabled; re-checked after a subscription error. */
  enabled: Set<string> | null;
  authenticated: boolean;
  /** issue-14: per content type, the delivered-blob record and sweep schedule (kept across passes). */
  reconcilers: Map<string, Reconciler>;
  /** Its oldest unfinished content (ms; the oldest cursor after its last pass), NaN before its first. */
  oldest: number;
}

/** How late after its whole second a pass may start and still count as on it (see run). */
const START_SLACK_MS = 100;

export class Bridge {
  readonly logger: Logger;
  readonly metrics: Metrics;
  private readonly sink: Sink;
  private readonly store: CheckpointStore;
  /** issue-14 hook: subscription start times, kept in the state dir (15 minutes between starts, across restarts). */
  private readonly startLog: FileStartLog;
  /** issue-14 hook: per tenant, record Ids delivered in the last 24 h, kept in the state dir (de-dup across restarts). */
  private readonly idStores = new Map<string, RecentIdsStore>();
  private readonly delivery: Delivery;
  private readonly delivered: DeliveredIds;
  private readonly tenants: TenantRuntime[];
  private readonly stopFetching = new AbortController();
  private readonly stopDelivery = new AbortController();
  private readonly clock: Clock;
  private readonly validator: RecordValidator;
  private readonly router: RouterLike;
  private readonly largestEvent: number;
  /** Set while deliveries fail (cleared by the next acknowledgement): the receiver is unreachable or refusing. */
  private sinkFailing: BridgeError | null = null;
  private stopTimer?: NodeJS.Timeout;
  /**
   * Tenants work poll.tenantConcurrency at a time, the most lagging first, a step (start, listing,
   * blob) at a time: a long pass never holds a slot while others wait (core/schedule.ts).
   */
  private readonly turns: TenantScheduler;
  private closed = false;

  constructor(
    private readonly cfg: Config,
    private readonly o: BridgeOptions = {},
  ) {
    this.logger = o.logger ?? createLogger({ level: cfg.log.level });
    this.metrics = o.metrics ?? noopMetrics;
    this.clock = o.clock ?? (o.now ? { ...realClock, now: o.now } : realClock);
    this.store = new CheckpointStore(cfg.stateDir);
    this.startLog = new FileStartLog(cfg.stateDir, (msg) => this.logger.warn(msg, { component: 'subscriptions' }), () => this.clock.now());
    this.validator = createValidator({ mode: cfg.validation.mode });
    this.router = createRouter({ tagPrefix: cfg.tagPrefix, format: cfg.format, now: () => this.clock.now() });
    const mod = sinkModule(cfg.sink.type);
    this.sink = o.sink ?? mod.create(cfg.sink, { logger: this.logger.child({ component: 'sink' }), stop: () => this.abort() });
    this.largestEvent = Math.max(1024, Math.min(16 * 1024 * 1024, mod.largestEvent(cfg.sink)));
    const tags = new TagTable(cfg.tagPrefix);
    this.delivery = new Delivery(this.sink, {
      maxBatchEvents: cfg.sink.maxBatchEvents,
      maxBatchBytes: cfg.sink.maxBatchBytes,
      maxInFlight: cfg.sink.maxInFlightBatches,
      logger: this.logger.child({ component: 'delivery' }),
      signal: this.stopDelivery.signal,
      clock: this.clock,
      reduce: makeReducer({
        keep: REDUCED_KEEP,
        metaKey: META_KEY,
        excerptBytes: Math.max(256, this.largestEvent - 8192),
        tag: (ev) => {
          const r = recordIdentity(ev.record);
          const raw = (ev.record[META_KEY] as { content_type?: unknown } | undefined)?.content_type;
          const ct = r.contentType ?? (typeof raw === 'string' ? raw : 'Audit.General');
          return tags.tag(ct, r.recordType, true);
        },
      }),
      // Raw events carry Id/RecordType at the top, ECS documents at event.id / o365.audit.RecordType.
      identify: (ev) => {
        const r = recordIdentity(ev.record);
        return { recordId: r.id ?? null, recordType: r.recordType };
      },
      giveUp: cfg.poll.once ? { afterMs: o.onceGiveUpMs ?? ONCE_GIVE_UP_MS, immediately: new Set(['SINK_AUTH']) } : undefined,
      onBatchAcked: (n) => {
        this.sinkFailing = null;
        this.metrics.eventsAcked(n);
        this.metrics.sinkBatches('acked');
      },
      onBatchRetry: (err) => {
        this.sinkFailing = isBridgeError(err) ? err : new BridgeError('INTERNAL', String(err));
        this.metrics.sinkBatches(isBridgeError(err) ? err.code.toLowerCase() : 'failed');
      },
      onUnacked: (n) => this.metrics.eventsUnacked(n),
    });
    this.delivered = new DeliveredIds(cfg.dedup.recordIds, (tenant, ids) => this.idStores.get(tenant)?.noteDelivered(ids)); // issue-14 hook: acknowledged Ids only
    for (const t of cfg.tenants) {
      this.idStores.set(
        t.id,
        new RecentIdsStore(cfg.stateDir, {
          tenantId: t.id,
          hours: 24,
          // One bound over all tenants, as in memory.
          maxIds: Math.ceil(cfg.dedup.recordIds / Math.max(1, cfg.tenants.length)),
          now: () => this.clock.now(),
          onProblem: (msg) => this.logger.warn(msg, { component: 'dedup', tenant: t.name }),
        }),
      );
    }
    // No tenant waits more than a poll interval for its turn while others catch up.
    this.turns = new TenantScheduler({ capacity: cfg.poll.tenantConcurrency, now: () => this.clock.now(), maxWaitMs: cfg.poll.intervalSeconds * 1000 });
    this.tenants = cfg.tenants.map((t) => this.makeTenant(t));
  }

  private makeTenant(t: TenantConfig): TenantRuntime {
    const { http, api } = createTenantClient(this.cfg, t, this.logger, { metrics: this.metrics, signal: this.stopFetching.signal, subscriptionStarts: this.startLog });
    return { cfg: t, http, api, blobSlots: new Semaphore(this.cfg.poll.blobConcurrency), enabled: null, authenticated: false, reconcilers: new Map(), oldest: NaN };
  }

  /** A listing (the sweep's) that waits for the tenant's turn, and holds it until read to its end (or abandoned). */
  private async *inTurn<T>(tenantId: string, oldestMs: number, pages: () => AsyncIterable<T>): AsyncGenerator<T> {
    const release = await this.turns.enter(tenantId, oldestMs, this.stopFetching.signal);
    try {
      yield* pages();
    } finally {
      release();
    }
  }

  /** issue-14 hook: one Reconciler per (tenant, content type), created on first use. */
  private reconcilerFor(t: TenantRuntime, ct: string): Reconciler {
    let r = t.reconcilers.get(ct);
    if (!r) {
      r = new Reconciler({
        stateDir: this.cfg.stateDir,
        tenantId: t.cfg.id,
        tenantLabel: t.cfg.name,
        contentType: ct,
        intervalMs: this.cfg.poll.reconcileIntervalMinutes * 60_000,
        ageMarginMs: 15 * 60_000,
        concurrency: this.cfg.poll.blobConcurrency,
        // The sweep looks below the cursor: it comes in the tenant's turn at its cursor's age, not its windows'.
        listContent: (start, end) => this.inTurn(t.cfg.id, t.oldest, () => t.api.listContent(ct, start, end)),
        logger: this.logger.child({ component: 'reconcile', tenant: t.cfg.name, contentType: ct }),
        countLate: (tenant, contentType, n) => this.metrics.lateBlobs(tenant, contentType, n),
        now: () => this.clock.now(),
        stop: this.stopFetching.signal,
      });
      t.reconcilers.set(ct, r);
    }
    return r;
  }

  /**
   * Readiness for /readyz: every tenant authenticated, and deliveries not failing. A quiet tenant that
   * has nothing to send stays ready; a receiver that stops acknowledging makes us not ready.
   */
  readiness(): { ready: boolean; reasons: string[] } {
    const reasons: string[] = [];
    for (const t of this.tenants) if (!t.authenticated) reasons.push(`tenant ${t.cfg.name}: not authenticated yet`);
    const failed = this.delivery.failure;
    if (failed) reasons.push(`receiver: given up (${failed.code})`);
    else if (this.sinkFailing) reasons.push(`receiver: deliveries are failing (${this.sinkFailing.code}: unreachable, refusing, or not acknowledging); retrying`);
    return { ready: reasons.length === 0, reasons };
  }

  get stopping(): boolean {
    return this.stopFetching.signal.aborted;
  }

  /** Checks the state dir can be written and takes its lock: before anything is sent. */
  async init(): Promise<void> {
    await this.store.init();
    await this.startLog.load(); // issue-14 hook: after the lock is taken
    for (const [tenant, st] of this.idStores) this.delivered.seed(tenant, await st.load()); // issue-14 hook: de-dup across restarts
  }

  /** One pass over every tenant and content type. */
  async runOnce(): Promise<PassSummary> {
    const startedAt = new Date(this.clock.now()).toISOString();
    const results: PassResult[] = [];
    const tenantErrors: PassSummary['tenantErrors'] = [];
    // Every tenant's pass starts here, in config order; each waits for its turn at every step that
    // talks to the API (this.turns), so at most tenantConcurrency tenants work at a time.
    await Promise.all(
      this.tenants.map(async (t) => {
          if (this.stopping) return;
          try {
            results.push(...(await this.runTenant(t)));
          } catch (err) {
            const e = isBridgeError(err) ? err : new BridgeError('INTERNAL', String((err as Error)?.message ?? err), { cause: err });
            if (e.code === 'STATE_UNWRITABLE' || e.code === 'STATE_CORRUPT') throw e;
            tenantErrors.push({ tenantId: t.cfg.id, error: e });
            // A call cut short by a stop is not a failure worth an error line.
            if (!(this.stopping && e.details.aborted)) this.logger.error('tenant pass failed', { tenant: t.cfg.name, err: e });
          }
        }),
    );
    for (const st of this.idStores.values()) await st.save(); // issue-14 hook: once per pass (a crash loses at most one pass's Ids: duplicates, not losses)
    const sinkError = this.delivery.failure;
    return { startedAt, finishedAt: new Date(this.clock.now()).toISOString(), results, tenantErrors, ...(sinkError ? { sinkError } : {}) };
  }

  /** issue 12: blobs failing with a non-retryable answer, per tenant × content type, kept across passes. */
  private readonly blobFailures = new Map<string, BlobFailures>();
  private blobFailuresOf(tenantId: string, contentType: string): BlobFailures {
    const key = `${tenantId}\u0000${contentType}`;
    let f = this.blobFailures.get(key);
    if (!f) this.blobFailures.set(key, (f = new BlobFailures((this.cfg.poll.blobGiveUpSeconds ?? 21_600) * 1000)));
    return f;
  }

  private async runTenant(t: TenantRuntime): Promise<PassResult[]> {
    // The pass's start is a turn too (held until every content type has asked for its first one, so
    // tenants line up in a known order): its first calls (a token, subscriptions) wait like any other,
    // 50 tenants don't all ask at once. Before its first pass a tenant's lag is unknown: it comes
    // first (a short step), in config order.
    const startTurn = await this.turns.enter(t.cfg.id, Number.isNaN(t.oldest) ? -Infinity : t.oldest, this.stopFetching.signal);
    try {
      if (this.stopping) return [];
      return await this.runTenantPass(t, startTurn);
    } finally {
      startTurn();
    }
  }

  private async runTenantPass(t: TenantRuntime, startTurn: () => void): Promise<PassResult[]> {
    if (t.enabled === null) {
      const subs = await t.api.ensureSubscriptions(t.cfg.contentTypes);
      t.authenticated = true;
      t.enabled = new Set(subs.filter((s) => s.status.toLowerCase() === 'enabled').map((s) => s.contentType));
      for (const ct of t.cfg.contentTypes) {
        // issue-14 hook: a start requested (or refused as too frequent) is a wait, not a failure.
        const pending = subs.find((s) => s.contentType === ct && s.status === 'pending');
        if (pending) {
          this.logger.info('subscription start pending; this content type is polled once the API lists it enabled', {
            tenant: t.cfg.name,
            contentType: ct,
            notBefore: pending.notBefore !== undefined ? new Date(pending.notBefore).toISOString() : undefined,
          });
          continue;
        }
        if (!t.enabled.has(ct)) {
          this.logger.error('subscription not enabled; this content type is skipped until it is', {
            tenant: t.cfg.name,
            contentType: ct,
            code: 'API_SUBSCRIPTION_DISABLED',
          });
        }
      }
    }
    const enabled = t.cfg.contentTypes.filter((ct) => t.enabled!.has(ct));
    // The start turn goes once every content type has asked for its first turn (or finished without).
    let toAsk = enabled.length;
    const asked = () => {
      if (--toAsk === 0) startTurn();
    };
    if (toAsk === 0) startTurn();
    const out = await Promise.all(
      enabled.map((ct) => {
        let first = true;
        const once = () => {
          if (first) (first = false), asked();
        };
        const turn = this.turns.forTenant(t.cfg.id, this.stopFetching.signal);
        return new ContentTypePoller(
          {
            tenantId: t.cfg.id,
            contentType: ct,
            api: t.api,
            store: this.store,
            validator: this.validator,
            router: this.router,
            delivery: this.delivery,
            delivered: this.delivered,
            blobSlots: t.blobSlots,
            turn: (ms, previous) => {
              const p = turn(ms, previous);
              once(); // after: its unit is in line (or in) before the start turn goes
              return p;
            },
            logger: this.logger.child({ component: 'poller', tenant: t.cfg.name, contentType: ct }),
            metrics: this.metrics,
            progress: this.o.progress,
            clock: this.clock,
            reconcile: this.reconcilerFor(t, ct), // issue-14 hook
            blobFailures: this.blobFailuresOf(t.cfg.id, ct),
          },
          {
            initialLookbackMs: this.cfg.poll.initialLookbackHours * HOUR_MS,
            trailingMs: this.cfg.poll.trailingWindowMinutes * 60_000,
            ageMarginMs: 15 * 60_000,
            blobConcurrency: this.cfg.poll.blobConcurrency,
            maxBlobAttempts: 4,
            // A record whose JSON alone is over what the sink takes is quarantined by the reader (with an
            // excerpt); one that only grows too large once encoded is reduced by the delivery.
            maxRecordBytes: this.largestEvent,
            recentBlobsCapacity: 50_000,
            stopFetching: this.stopFetching.signal,
          },
        )
          .runPass()
          .finally(once);
      }),
    );
    // A subscription stopped behind our back, or one not enabled yet: find out again next pass (the
    // client spaces start requests 15 minutes apart, as Microsoft asks).
    if (enabled.length < t.cfg.contentTypes.length) t.enabled = null;
    const cursors = out.map((r) => (r.cursor ? Date.parse(r.cursor) : NaN)).filter((c) => Number.isFinite(c));
    t.oldest = cursors.length > 0 ? Math.min(...cursors) : NaN;
    if (out.some((r) => r.error && (r.error.code === 'API_NOT_SUBSCRIBED' || r.error.code === 'API_SUBSCRIPTION_DISABLED'))) t.enabled = null;
    if (out.some((r) => r.error?.code === 'STATE_UNWRITABLE')) throw out.find((r) => r.error?.code === 'STATE_UNWRITABLE')!.error;
    return out;
  }

  /**
   * Passes until stopped (or one pass with `poll.once`). Start to start, as "poll every N s" reads: a
   * pass shorter than the interval is followed by the next one an interval after it started; a longer
   * one (a backlog) by the next at once. (Counted from a pass's end, the period was the interval plus
   * the pass, and content listed just after a pass waited that long: p99 1.12–1.17 × the interval.)
   * Starts fall on whole seconds (see below).
   */
  async run(onPass?: (s: PassSummary) => void): Promise<void> {
    for (;;) {
      const started = this.clock.now();
      const s = await this.runOnce();
      onPass?.(s);
      if (this.cfg.poll.once || this.stopping) break;
      // On a whole second: the listing's end is cut to whole seconds (the API takes seconds), so content
      // created between that second and the listing waits a whole interval more; a pass that starts just
      // after a whole second loses only the few ms before its listing. With a whole-second interval the
      // starts stay aligned (only the first one, or one after a pass longer than the interval, moves by
      // under a second). issue 17: steady p99 was 10.5 s with an interval of 10 s.
      // The slack: a timer fires a few ms after its second, and that must not push the next start a
      // whole second further.
      const next = Math.ceil((started + this.cfg.poll.intervalSeconds * 1000 - START_SLACK_MS) / 1000) * 1000;
      const wait = next - this.clock.now();
      if (wait > 0) await this.clock.sleep(wait, this.stopFetching.signal);
      if (this.stopping) break;
    }
  }

  /** Phase 1 now, phase 2 after the grace period. Idempotent. */
  stop(): void {
    if (this.stopping) return;
    this.stopFetching.abort();
    const grace = this.o.shutdownGraceMs ?? this.cfg.sink.ackTimeoutSeconds * 1000 + 5000;
    this.stopTimer = setTimeout(() => this.stopDelivery.abort(), grace);
    this.stopTimer.unref();
  }

  /** Stops everything at once (phase 2 immediately). */
  abort(): void {
    this.stop();
    this.stopDelivery.abort();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.abort();
    if (this.stopTimer) clearTimeout(this.stopTimer);
    await this.sink.close().catch(() => undefined);
    for (const t of this.tenants) t.http.close();
    for (const st of this.idStores.values()) {
      await st.save().catch((err) => this.logger.warn('record Ids not saved', { component: 'dedup', err })); // issue-14 hook
      st.closeJournal();
    }
    await this.store.close();
  }
}

