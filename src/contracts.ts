/**
 * The types that cross stage boundaries. Data flows one way:
 *   config → auth → api client → poller → blob reader → validator → router → sink → checkpoint.
 * A stage imports only the contracts it consumes and produces; wiring happens in bridge.ts.
 */
export const CONTENT_TYPES = [
  'Audit.AzureActiveDirectory',
  'Audit.Exchange',
  'Audit.SharePoint',
  'Audit.General',
  'DLP.All',
] as const;
export type ContentType = (typeof CONTENT_TYPES)[number];

/** One entry of a `subscriptions/content` listing, as the API sends it. */
export interface ContentRef {
  contentType: string;
  contentId: string;
  contentUri: string;
  /** When the content became available (UTC); listings select on this, not on event time. */
  contentCreated: string;
  contentExpiration: string;
}

export interface SubscriptionStatus {
  contentType: string;
  status: string; // 'enabled' | 'disabled' as the API spells it
  webhook: unknown;
}

/**
 * What one listing actually did, filled in by `listContent` as it runs (pass an object, read it after
 * the loop): the poller closes a window only when the API was asked for all of it, to its last page.
 */
export interface ListingReport {
  /** The window the API was last asked for (after clamping); null when no request was made. */
  asked: { start: Date; end: Date } | null;
  /** False when the listing stopped before the API's last page (page or entry bound). */
  complete: boolean;
}

/** auth stage → api stage. */
export interface TokenProvider {
  /** A bearer token for the tenant's API resource; `forceRefresh` after a 401. */
  getToken(forceRefresh?: boolean): Promise<string>;
}

/** api stage → poller. One instance per tenant. Errors are BridgeError with stable codes. */
export interface ActivityApi {
  readonly tenantId: string;
  /** Lists subscriptions, starts configured content types that are not enabled. */
  ensureSubscriptions(contentTypes: readonly string[]): Promise<SubscriptionStatus[]>;
  /** Lists available content for [start, end) (≤ 24 h, ≤ 7 days back), yielding one page at a time. */
  listContent(contentType: string, start: Date, end: Date, info?: ListingReport): AsyncIterable<ContentRef[]>;
  /** The body of a content blob as a byte stream (size-limited; errors surface on the stream). */
  fetchBlob(contentUri: string, signal?: AbortSignal): Promise<AsyncIterable<Buffer>>;
}

export interface ValidationIssue {
  /** JSON pointer into the record, e.g. `/Actions/0/ActionType`; '' for the record itself. */
  path: string;
  message: string;
  keyword: string;
}

export interface ValidationResult {
  valid: boolean;
  /** The record's RecordType when it is an integer, else null. */
  recordType: number | null;
  errors: ValidationIssue[];
  /** Non-fatal findings (e.g. an enum value the docs don't list) in default mode. */
  warnings: ValidationIssue[];
}

export type ValidationMode = 'default' | 'strict';

export interface RecordValidator {
  readonly mode: ValidationMode;
  validate(record: unknown): ValidationResult;
}

/** Forward-protocol EventTime: seconds and nanoseconds since the epoch (UTC). */
export interface EventTimeParts {
  sec: number;
  nsec: number;
}

/** router → sink. */
export interface OutEvent {
  tag: string;
  time: EventTimeParts;
  record: Record<string, unknown>;
}

/**
 * A batch as a sink will put it on the wire: encoded once, held as bytes while it waits for its
 * acknowledgement, re-sent as it is after a transient failure (see Sink).
 */
export interface EncodedBatch {
  /** Events in the batch. */
  readonly events: number;
  /** Encoded size in bytes (what it costs to hold it). */
  readonly bytes: number;
}

/**
 * The sink. Two steps, so the caller can tell a permanent refusal from a transient one and hold only
 * bytes while it waits:
 * - `encode` turns events into an EncodedBatch, or throws a BridgeError that is **not retryable** when
 *   content can never be sent as it is (SINK_EVENT_TOO_LARGE: judged on the encoded size), with
 *   `details.index` naming the event when one event is the cause;
 * - `deliver` resolves once the receiver acknowledged every event of the batch (for a sink without
 *   acknowledgements: once written), and rejects with a retryable BridgeError (SINK_*) otherwise. It
 *   never settles twice, and may be called again with the same batch after a rejection;
 * - `release` says the batch will not be sent again (its buffers may be reused).
 */
export interface Sink {
  encode(events: OutEvent[]): EncodedBatch;
  deliver(batch: EncodedBatch): Promise<void>;
  release(batch: EncodedBatch): void;
  close(): Promise<void>;
  /**
   * Optional (issue 17): encode a batch event by event as it fills, so parsed records are dropped as
   * soon as they are added. `add` throws what `encode` would for that event alone (details.index 0).
   */
  encoder?(): BatchEncoder;
}

/** A batch being encoded as it fills (Sink.encoder). */
export interface BatchEncoder {
  /** Encodes one event; on a throw, nothing of it is kept and the encoder stays usable. */
  add(ev: OutEvent): void;
  /** Events encoded so far. */
  readonly events: number;
  /** The batch, to deliver; the encoder is spent. */
  finish(): EncodedBatch;
  /** Drops what was encoded; the encoder is spent. */
  abandon(): void;
}
