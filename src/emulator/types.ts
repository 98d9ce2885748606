/** Public types of the Management Activity API emulator. */

export const EMULATOR_CONTENT_TYPES = [
  'Audit.AzureActiveDirectory',
  'Audit.Exchange',
  'Audit.SharePoint',
  'Audit.General',
  'DLP.All',
] as const;
export type EmulatorContentType = (typeof EMULATOR_CONTENT_TYPES)[number];

export interface EmulatorTenantSpec {
  /** Tenant GUID (the URL segment and the token's `tid`). */
  tenantId: string;
  clientId: string;
  clientSecret?: string;
  /** PEM of the public certificate the emulator trusts for client assertions. */
  certificatePem?: string;
  /** Roles put in this tenant's tokens; default both `ActivityFeed.Read` and `ActivityFeed.ReadDlp`. */
  roles?: string[];
  /** Verified domain, accepted in place of the GUID in the token URL; generated when absent. */
  domain?: string;
}

export interface ResolvedTenant extends EmulatorTenantSpec {
  clientSecret: string;
  domain: string;
  roles: string[];
}

/**
 * Fault knobs. Data faults (late, duplicate listing, duplicate record, invalid record, expired)
 * are part of the deterministic content: a given seed + faults always yields the same ones, and the
 * ledger accounts for them. Transport faults draw from a seeded stream per request.
 */
export interface Faults {
  /** Share of blobs whose contentCreated lies in the past but which only become listable `lateDelayMs` later. */
  lateContentRate: number;
  lateDelayMs: number;
  /**
   * Share of blobs listed hours to days late: listable only `lateListingMinMs`..`lateListingMaxMs`
   * (drawn per blob) after their contentCreated, long after their window was first listed; their
   * contentCreated stays in the old window. Independent of `lateContentRate`.
   */
  lateListingRate: number;
  lateListingMinMs: number;
  lateListingMaxMs: number;
  /**
   * Late-listed blobs are not listable before this instant either (ms since epoch; 0 = off): lets a
   * test on a real clock make blobs of windows days old appear in the middle of a run.
   */
  lateListingNotBefore: number;
  /** Share of blobs announced twice in the listing (same contentId, a second entry listed later). */
  duplicateListingRate: number;
  /** Share of blobs that also carry a copy of a record from the previous blob (same Id, other key order). */
  duplicateRecordRate: number;
  /** Share of records deliberately broken against the schemas (marked invalid in the ledger). */
  invalidRecordRate: number;
  /** Share of blobs that are listed but answer 410 AF20051 on fetch. */
  expiredContentRate: number;
  /** Share of API requests answered 500 AF50000. */
  serverErrorRate: number;
  /** Share of API requests whose connection is reset without an answer. */
  connectionResetRate: number;
  /** Share of API requests answered only after `slowResponseMs`. */
  slowResponseRate: number;
  slowResponseMs: number;
  /** Share of blob answers cut off half-way (Content-Length announced, connection closed early). */
  truncatedBlobRate: number;
  /** Share of token requests answered 503 temporarily_unavailable. */
  tokenFailureRate: number;
  /** Token endpoint answers 503 while now() < this (ms since epoch); 0 = off. */
  tokenOutageUntil: number;
  /** After this many listing requests for one tenant × content type, that subscription is disabled once (0 = never). */
  disableSubscriptionAfterListings: number;
}

export type ProfileName = 'clean' | 'realistic' | 'faulty';

export interface EmulatorOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  https?: boolean;
  seed?: number | string;
  profile?: ProfileName | string;
  /** Specs, or a number of tenants to generate (with secrets). Default 1. */
  tenants?: EmulatorTenantSpec[] | number;
  /** Records per hour per content type. */
  recordsPerHour?: Partial<Record<string, number>>;
  /** Hours of history before start (≤ 168). */
  historyHours?: number;
  recordsPerBlob?: number;
  /** Listing entries per page before a NextPageUri is added. */
  pageSize?: number;
  tokenLifetimeSec?: number;
  /** Per-tenant API budget per minute (default 2000). */
  requestsPerMinute?: number;
  /** 403 + AF429 (documented, default) or 429 + Retry-After. */
  throttleStatus?: 403 | 429;
  /** Added before every API answer. */
  latencyMs?: number;
  /** Content types already subscribed for every tenant at start. */
  enabledAtStart?: string[];
  faults?: Partial<Faults>;
  quirks?: { nextPageV1?: boolean; lowercaseStartTime?: boolean };
  /** Injectable clock (ms since epoch). */
  now?: () => number;
}

export interface LedgerBlob {
  tenantId: string;
  contentType: EmulatorContentType;
  contentId: string;
  contentUri: string;
  /** ms since epoch. */
  contentCreated: number;
  /** When it becomes listable (later than contentCreated for late content). */
  visibleAt: number;
  contentExpiration: number;
  /** Records in the blob, including a duplicated one when `duplicateRecord`. */
  recordCount: number;
  late: boolean;
  /** Listed hours to days after its window (the late-listing fault). */
  lateListed: boolean;
  listedTwice: boolean;
  duplicateRecord: boolean;
  /** Deliberately expired: listed, but 410 AF20051 on fetch. */
  expired: boolean;
}

export interface LedgerQuery {
  contentType?: string;
  /** Availability as of this instant (ms); default now(). */
  asOf?: number;
  /** Include deliberately expired blobs (their records can never be fetched). Default false. */
  includeExpired?: boolean;
}

export interface RecordIdSets {
  /** Unique record Ids that validate. */
  valid: string[];
  /** Unique record Ids deliberately broken. */
  invalid: string[];
  /** Record occurrences beyond the first (same Id in two blobs). */
  duplicates: number;
}

/** An exact account of what the emulator generated and served, computed lazily from the generator. */
export interface Ledger {
  /** Blobs listable for the tenant with contentCreated in [t0, t1) (ms or Date). */
  blobs(tenantId: string, t0: number | Date, t1: number | Date, q?: LedgerQuery): LedgerBlob[];
  /** Record Ids in those blobs (the ones a complete receiver must end up with). */
  recordIds(tenantId: string, t0: number | Date, t1: number | Date, q?: LedgerQuery): RecordIdSets;
  /**
   * The same account without materialising it (bench scale): counts, and a callback per record
   * occurrence (a duplicated record is reported again, with `duplicate` true).
   */
  recordCounts(tenantId: string, t0: number | Date, t1: number | Date, q?: LedgerQuery): { valid: number; invalid: number; duplicates: number };
  forEachRecordId(tenantId: string, t0: number | Date, t1: number | Date, fn: (id: string, invalid: boolean, duplicate: boolean) => void, q?: LedgerQuery): void;
  /** Deliberately expired content ids in the window. */
  expiredContentIds(tenantId: string, t0: number | Date, t1: number | Date, q?: LedgerQuery): string[];
  /** The records of one blob, exactly as served (parsed). */
  blobRecords(contentId: string): Record<string, unknown>[];
  /** Content ids answered 200 so far (optionally for one tenant). */
  servedContentIds(tenantId?: string): string[];
  /** Totals served so far. */
  served(): { blobs: number; records: number; bytes: number };
}

export interface EmulatorStats {
  requests: number;
  byStatus: Record<string, number>;
  byRoute: Record<string, number>;
  throttled: number;
  resets: number;
  truncated: number;
  tokensIssued: number;
}

export interface Emulator {
  /** Base URL: token at {url}/{tenant}/oauth2/v2.0/token, API at {url}/api/v1.0/{tenant}/activity/feed/... */
  url: string;
  /** PEM of the CA that signed the server certificate (https only). */
  ca?: string;
  tenants: ResolvedTenant[];
  ledger: Ledger;
  /** The scope a client must ask for: `{url}/.default`. */
  scope: string;
  setFaults(f: Partial<Faults>): void;
  disableSubscription(tenantId: string, contentType: string): void;
  stats(): EmulatorStats;
  stop(): Promise<void>;
}
