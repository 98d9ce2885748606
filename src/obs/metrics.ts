/**
 * Prometheus metrics as a typed facade: the pipeline calls named methods, never prom-client directly,
 * so metric names and labels live in one place and a no-op implementation can stand in (tests, `validate`).
 *
 * Callers pass counts per blob or per batch, never per record: each call is one label lookup.
 * Label cardinality is bounded: tenants and content types come from the config, record types are the
 * numeric RecordType as a string, and every free-form label (operation, status, reason, outcome) is
 * sanitised and capped at a fixed number of distinct values per metric, after which it reads "other".
 */
import type { Counter, Registry } from 'prom-client';

export const METRIC_PREFIX = 'o365_bridge_';

export interface Metrics {
  /** Records parsed out of content blobs. `recordType` is the numeric RecordType (null when absent/not an integer). */
  recordsFetched(tenant: string, contentType: string, recordType: number | string | null, n: number): void;
  /** Records whose event the receiver acknowledged (as it was, or reduced in the quarantine); counted on the ack, once. */
  recordsEmitted(tenant: string, contentType: string, recordType: number | string | null, n: number): void;
  /** Records refused by the sink even in their reduced form: reported lost (with their Id, in the checkpoint). */
  recordsLost(tenant: string, contentType: string, n: number): void;
  /** Records that failed schema validation. */
  recordsInvalid(tenant: string, contentType: string, recordType: number | string | null, n: number): void;
  /** Records dropped as already delivered (same Id seen). */
  recordsDuplicate(tenant: string, contentType: string, n: number): void;
  /** Content blobs read to the end. */
  blobsFetched(tenant: string, contentType: string, n: number): void;
  /** Content blobs that expired (AF20051 / 7-day limit) before they could be read. */
  blobsExpired(tenant: string, contentType: string, n: number): void;
  /** Late blobs: found (never delivered) by a reconciliation sweep, older than the trailing window. */
  lateBlobs(tenant: string, contentType: string, n: number): void;
  /** Content blobs finished as lost at the source, by code (expired, refused, given up after non-retryable answers). */
  blobsLost(tenant: string, contentType: string, code: string, n: number): void;
  /** A time range recorded as lost (the API no longer answers for it): counted, with its length in seconds. */
  rangeLost(tenant: string, contentType: string, seconds: number): void;
  /** One HTTP request to the Management Activity API; `status` is the HTTP status or a short word (`network`, `timeout`). */
  apiRequest(tenant: string, operation: string, status: number | string): void;
  /** A 429 / AF429 answer. */
  throttled(tenant: string): void;
  /** A retry scheduled; `reason` is a short stable word or an error code. */
  retry(tenant: string, reason: string): void;
  /** Response body bytes read from the API (listings and blobs). */
  bytesFetched(tenant: string, n: number): void;
  /** Events the receiver acknowledged. */
  eventsAcked(n: number): void;
  /** Events handed to the delivery and not settled yet: in flight or waiting to be sent again (a gauge: set it). */
  eventsUnacked(n: number): void;
  /** now − checkpoint cursor, in seconds (a gauge). */
  checkpointLagSeconds(tenant: string, contentType: string, seconds: number): void;
  /** A sink batch settled: `acked`, `failed`, `timeout`, ... */
  sinkBatches(outcome: string): void;
  /** The Prometheus exposition text. */
  text(): Promise<string>;
  /** The Content-Type header to serve `text()` with. */
  readonly contentType: string;
}

export interface MetricsOptions {
  /** Also export prom-client's process metrics (CPU, memory, event loop lag, GC) with our prefix. Default true. */
  processMetrics?: boolean;
  /** Distinct values kept per free-form label before further values read "other". Default 50. */
  maxLabelValues?: number;
}

/** A registry of metrics for one bridge process. Uses its own Registry, never prom-client's global one. */
export function createMetrics(opts: MetricsOptions = {}): Metrics & { readonly registry: Registry } {
  // Loaded here, not at import: `run` without metrics.enabled (the default) never pays for it (~2 MiB
  // of heap and code with its OpenTelemetry dependency).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Counter, Gauge, Registry, collectDefaultMetrics } = require('prom-client') as typeof import('prom-client');
  const registry = new Registry();
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  const cap = opts.maxLabelValues ?? 50;

  const counter = (name: string, help: string, labelNames: string[]) =>
    new Counter({ name: METRIC_PREFIX + name, help, labelNames, registers: [registry] });
  const gauge = (name: string, help: string, labelNames: string[]) =>
    new Gauge({ name: METRIC_PREFIX + name, help, labelNames, registers: [registry] });

  const recLabels = ['tenant', 'content_type', 'record_type'];
  const fetched = counter('records_fetched_total', 'Audit records parsed from content blobs.', recLabels);
  const emitted = counter('records_emitted_total', 'Audit records delivered as events and acknowledged by the receiver.', recLabels);
  const lostRecs = counter('records_lost_total', 'Audit records refused by the sink even in their reduced form (recorded lost with their Id).', ['tenant', 'content_type']);
  const invalid = counter('records_invalid_total', 'Audit records that failed schema validation.', recLabels);
  const duplicate = counter('records_duplicate_total', 'Audit records dropped as already delivered.', ['tenant', 'content_type']);
  const blobs = counter('blobs_fetched_total', 'Content blobs read completely.', ['tenant', 'content_type']);
  const expired = counter('blobs_expired_total', 'Content blobs that expired before they could be read (lost).', ['tenant', 'content_type']);
  const late = counter('late_blobs_total', 'Content blobs listed late, older than the trailing window, found and fetched by a reconciliation sweep.', ['tenant', 'content_type']);
  const lostBlobsC = counter('blobs_lost_total', 'Content blobs finished as lost at the source, by code (recorded in the checkpoint with their content id).', ['tenant', 'content_type', 'code']);
  const lostRanges = counter('lost_ranges_total', 'Time ranges recorded as lost: the API no longer answers for them (recorded in the checkpoint).', ['tenant', 'content_type']);
  const lostRangeSec = counter('lost_range_seconds_total', 'Total length of the time ranges recorded as lost, in seconds.', ['tenant', 'content_type']);
  const api = counter('api_requests_total', 'Requests to the Management Activity API by operation and HTTP status.', ['tenant', 'operation', 'status']);
  const throttledC = counter('api_throttled_total', 'Throttled answers (HTTP 429) from the Management Activity API.', ['tenant']);
  const retries = counter('retries_total', 'Retries scheduled, by reason.', ['tenant', 'reason']);
  const bytes = counter('bytes_fetched_total', 'Response body bytes read from the Management Activity API.', ['tenant']);
  const acked = counter('events_acked_total', 'Events acknowledged by the receiver.', []);
  const unacked = gauge('events_unacked', 'Events handed to the delivery and not acknowledged yet (in flight, or waiting to be sent again).', []);
  const lag = gauge('checkpoint_lag_seconds', 'Seconds between now and the checkpoint cursor.', ['tenant', 'content_type']);
  const batches = counter('sink_batches_total', 'Sink batches by outcome.', ['outcome']);

  const rt = boundedLabel(cap);
  const op = boundedLabel(cap);
  const st = boundedLabel(cap);
  const why = boundedLabel(cap);
  const outc = boundedLabel(cap);
  const ten = boundedLabel(Math.max(cap, 1000)); // tenants come from config; the cap is only a backstop
  const ct = boundedLabel(cap);
  const code = boundedLabel(cap);

  const rec = (c: Counter<string>, tenant: string, contentType: string, recordType: number | string | null, n: number) => {
    if (!(n > 0)) return;
    c.inc({ tenant: ten(tenant), content_type: ct(contentType), record_type: rt(recordTypeLabel(recordType)) }, n);
  };

  return {
    registry,
    contentType: registry.contentType,
    recordsFetched: (t, c, r, n) => rec(fetched, t, c, r, n),
    recordsEmitted: (t, c, r, n) => rec(emitted, t, c, r, n),
    recordsInvalid: (t, c, r, n) => rec(invalid, t, c, r, n),
    recordsLost: (t, c, n) => {
      if (n > 0) lostRecs.inc({ tenant: ten(t), content_type: ct(c) }, n);
    },
    recordsDuplicate: (t, c, n) => {
      if (n > 0) duplicate.inc({ tenant: ten(t), content_type: ct(c) }, n);
    },
    blobsFetched: (t, c, n) => {
      if (n > 0) blobs.inc({ tenant: ten(t), content_type: ct(c) }, n);
    },
    blobsExpired: (t, c, n) => {
      if (n > 0) expired.inc({ tenant: ten(t), content_type: ct(c) }, n);
    },
    lateBlobs: (t, c, n) => {
      if (n > 0) late.inc({ tenant: ten(t), content_type: ct(c) }, n);
    },
    blobsLost: (t, c, k, n) => {
      if (n > 0) lostBlobsC.inc({ tenant: ten(t), content_type: ct(c), code: code(k) }, n);
    },
    rangeLost: (t, c, sec) => {
      lostRanges.inc({ tenant: ten(t), content_type: ct(c) });
      if (sec > 0) lostRangeSec.inc({ tenant: ten(t), content_type: ct(c) }, sec);
    },
    apiRequest: (t, operation, status) => api.inc({ tenant: ten(t), operation: op(operation), status: st(String(status)) }),
    throttled: (t) => throttledC.inc({ tenant: ten(t) }),
    retry: (t, reason) => retries.inc({ tenant: ten(t), reason: why(reason) }),
    bytesFetched: (t, n) => {
      if (n > 0) bytes.inc({ tenant: ten(t) }, n);
    },
    eventsAcked: (n) => {
      if (n > 0) acked.inc(n);
    },
    eventsUnacked: (n) => unacked.set(Math.max(0, n)),
    checkpointLagSeconds: (t, c, s) => {
      if (Number.isFinite(s)) lag.set({ tenant: ten(t), content_type: ct(c) }, Math.max(0, s));
    },
    sinkBatches: (outcome) => batches.inc({ outcome: outc(outcome) }),
    text: () => registry.metrics(),
  };
}

/** Metrics that record nothing: for commands and tests that don't export metrics. */
export const noopMetrics: Metrics = {
  contentType: 'text/plain; version=0.0.4; charset=utf-8',
  recordsFetched: () => {},
  recordsEmitted: () => {},
  recordsInvalid: () => {},
  recordsLost: () => {},
  recordsDuplicate: () => {},
  blobsFetched: () => {},
  blobsExpired: () => {},
  lateBlobs: () => {},
  blobsLost: () => {},
  rangeLost: () => {},
  apiRequest: () => {},
  throttled: () => {},
  retry: () => {},
  bytesFetched: () => {},
  eventsAcked: () => {},
  eventsUnacked: () => {},
  checkpointLagSeconds: () => {},
  sinkBatches: () => {},
  text: async () => '',
};

/** RecordType as a label: the integer as a string, `unknown` when absent or not a small non-negative integer. */
export function recordTypeLabel(recordType: number | string | null | undefined): string {
  if (typeof recordType === 'number') return Number.isInteger(recordType) && recordType >= 0 && recordType < 100000 ? String(recordType) : 'unknown';
  if (typeof recordType === 'string' && /^\d{1,5}$/.test(recordType)) return String(Number(recordType));
  return 'unknown';
}

/**
 * A label normaliser that keeps at most `max` distinct values (then "other") and only a safe alphabet,
 * so a bug or a surprising API answer can't blow up the series count.
 */
function boundedLabel(max: number): (v: string) => string {
  const seen = new Set<string>();
  return (v: string) => {
    if (seen.has(v)) return v;
    const clean = String(v).replace(/[^A-Za-z0-9_.:@-]/g, '_').slice(0, 64) || 'unknown';
    if (clean !== v) {
      // Cache only exact values, so the clean form is still subject to the cap.
      if (seen.has(clean)) return clean;
    }
    if (seen.size >= max) return 'other';
    seen.add(clean);
    return clean;
  };
}
