/**
 * The Activity API: subscriptions, content listing with paging, and content blobs, with the
 * reference's rules and error codes. Pure request → reply; transport faults live in server.ts.
 *
 * HTTP statuses per AF code are not documented; the ones here follow what peers observed
 * (AF20023/AF20024 → 400, AF429 → 403, AF50000 → 500, AF10001 → 401) and HTTP conventions for
 * the rest (AF20050 → 404, AF20051 → 410).
 */
import { Lru } from './lru';
import { hashString, hex32, mix } from './rand';
import { DAY_MS, MAX_WINDOW_MS, RETENTION_MS, hourStamp, listingTime, parseQueryTime, queryTime } from './time';
import { contentTypeIndex, type BlobMeta, type Catalog } from './catalog';
import { serializeBlob } from './records/blob';
import type { TenantIdentity } from './records/identity';
import { EMULATOR_CONTENT_TYPES, type Faults } from './types';

const AF_STATUS: Record<string, number> = {
  AF10001: 401,
  AF20010: 401,
  AF20050: 404,
  AF20051: 410,
  AF50000: 500,
};

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** JSON-serialisable body, or a ready body. */
  json?: unknown;
  body?: Buffer;
  /** Set for a blob answer, so the server can count it once it is fully written. */
  served?: { tenantId: string; contentId: string; records: number };
  isBlob?: boolean;
}

export function afError(code: string, message: string, status?: number): Reply {
  return { status: status ?? AF_STATUS[code] ?? 400, json: { error: { code, message } } };
}

interface Subscription {
  status: 'enabled' | 'disabled';
  webhook: Record<string, unknown> | null;
  /** Set when an admin (or a fault) disabled it: listing answers AF20023 rather than AF20022. */
  disabledBy?: string;
}

export interface ActivityConfig {
  baseUrl: string;
  pageSize: number;
  seedHash: number;
  quirks: { nextPageV1: boolean; lowercaseStartTime: boolean };
  now(): number;
  faults(): Faults;
}

export interface ActivityRequest {
  method: string;
  tenant: TenantIdentity;
  /** Path after `/activity/feed/`, decoded. */
  op: string;
  /** Query with lower-cased names (the service binds names case-insensitively). */
  query: Map<string, string>;
  body: string;
}

interface Entry {
  blob: BlobMeta;
  listedAt: number;
  dup: number;
}

/** Between two start requests for one tenant and content type. */
export const START_WAIT_MS = 15 * 60_000;

/** "14m 56s", as the service words the wait (rounded up to whole seconds). */
function minSec(ms: number): string {
  const s = Math.ceil(ms / 1000);
  return `${Math.floor(s / 60)}m ${s % 60}s`;
}

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(s: string): boolean {
  return GUID_RE.test(s);
}

export class ActivityApi {
  private readonly subs = new Map<string, Map<string, Subscription>>();
  /** Last accepted start request per tenant|content type (ms), for the 15-minute rule. */
  private readonly lastStart = new Map<string, number>();
  private readonly listings = new Map<string, number>();
  private readonly blobCache = new Lru<string, { body: Buffer; records: number }>(24);

  constructor(
    private readonly catalog: Catalog,
    private readonly cfg: ActivityConfig,
  ) {}

  resetCache(): void {
    this.blobCache.clear();
  }

  private tenantSubs(tenantId: string): Map<string, Subscription> {
    let m = this.subs.get(tenantId);
    if (!m) this.subs.set(tenantId, (m = new Map()));
    return m;
  }

  enable(tenantId: string, contentType: string): void {
    this.tenantSubs(tenantId).set(contentType, { status: 'enabled', webhook: null });
  }

  /** An admin disabled the subscription (AF20023 on listing until it is started again). */
  disable(tenantId: string, contentType: string): void {
    const m = this.tenantSubs(tenantId);
    const s = m.get(contentType) ?? { status: 'enabled', webhook: null };
    m.set(contentType, { ...s, status: 'disabled', disabledBy: 'a service admin' });
  }

  contentUri(tenantId: string, contentId: string): string {
    return `${this.cfg.baseUrl}/api/v1.0/${tenantId}/activity/feed/audit/${contentId}`;
  }

  handle(req: ActivityRequest): Reply {
    const pub = req.query.get('publisheridentifier');
    if (pub !== undefined && !isGuid(pub)) {
      return afError('AF20002', 'Invalid parameter type: PublisherIdentifier. Expected type: guid');
    }
    const op = req.op.replace(/\/+$/, '');
    const route = (method: string, fn: () => Reply): Reply =>
      req.method === method ? fn() : { status: 405, json: { Message: `The requested resource does not support http method '${req.method}'.` } };
    switch (op.toLowerCase()) {
      case 'subscriptions/start':
        return route('POST', () => this.start(req));
      case 'subscriptions/stop':
        return route('POST', () => this.stop(req));
      case 'subscriptions/list':
        return route('GET', () => this.list(req));
      case 'subscriptions/content':
        return route('GET', () => this.content(req));
      case 'subscriptions/notifications':
        return route('GET', () => this.notifications(req));
      case 'resources/dlpsensitivetypes':
        return route('GET', () => ({ status: 200, json: DLP_TYPES }));
    }
    if (op.toLowerCase().startsWith('audit/')) return route('GET', () => this.blob(req, op.slice('audit/'.length)));
    return { status: 404, json: { Message: `No HTTP resource was found that matches the request URI '${this.cfg.baseUrl}/api/v1.0/${req.tenant.tenantId}/activity/feed/${op}'.` } };
  }

  private contentTypeParam(req: ActivityRequest): { ct: string } | { error: Reply } {
    const ct = req.query.get('contenttype');
    if (ct === undefined || ct === '') return { error: afError('AF20001', 'Missing parameter: contentType.') };
    if (contentTypeIndex(ct) < 0) return { error: afError('AF20020', 'The specified content type is not valid.') };
    return { ct };
  }

  /** Listing and blobs need an enabled subscription. */
  private requireEnabled(tenantId: string, ct: string): Reply | undefined {
    const s = this.subs.get(tenantId)?.get(ct);
    if (!s || (s.status !== 'enabled' && !s.disabledBy)) return afError('AF20022', 'No subscription found for the specified content type.');
    if (s.status !== 'enabled') return afError('AF20023', `The subscription was disabled by ${s.disabledBy}.`);
    return undefined;
  }

  private start(req: ActivityRequest): Reply {
    const p = this.contentTypeParam(req);
    if ('error' in p) return p.error;
    // Microsoft (2025): "a waiting period of 15 minutes is required before another request can be made".
    // Checked before AF20024: a client starting on every poll was answered 429, not AF20024. A refused
    // request does not restart the wait. The body's code is an inference; the message is the one seen.
    const now = this.cfg.now();
    const startKey = `${req.tenant.tenantId}|${p.ct}`;
    const last = this.lastStart.get(startKey);
    if (last !== undefined && now - last < START_WAIT_MS) {
      return afError('AF429', `Too many frequent subscription start requests. Please retry again after ${minSec(START_WAIT_MS - (now - last))}`, 429);
    }
    let webhook: Record<string, unknown> | null = null;
    if (req.body.trim()) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(req.body);
      } catch {
        return afError('AF20002', 'Invalid parameter type: webhook. Expected type: json');
      }
      const w = (parsed as { webhook?: unknown } | null)?.webhook;
      if (w && typeof w === 'object') {
        const address = String((w as Record<string, unknown>).address ?? '');
        if (!/^https:\/\//i.test(address)) {
          return afError('AF20021', `The webhook endpoint {${address}) could not be validated. The address must begin with HTTPS.`);
        }
        const expRaw = (w as Record<string, unknown>).expiration;
        const exp = typeof expRaw === 'string' && expRaw ? Date.parse(expRaw) : NaN;
        if (!Number.isNaN(exp) && exp < this.cfg.now()) {
          return afError('AF20003', `Expiration ${String(expRaw)} provided is set to past date and time.`);
        }
        webhook = {
          status: 'enabled',
          address,
          authId: (w as Record<string, unknown>).authId ?? null,
          expiration: Number.isNaN(exp) ? null : expRaw,
        };
      }
    }
    const m = this.tenantSubs(req.tenant.tenantId);
    const cur = m.get(p.ct);
    this.lastStart.set(startKey, now);
    if (cur?.status === 'enabled' && !webhook) {
      // Observed (not in the reference's table): a repeated start answers 400 AF20024.
      return afError('AF20024', 'The subscription is already enabled. No property change.');
    }
    m.set(p.ct, { status: 'enabled', webhook });
    return { status: 200, json: { contentType: p.ct, status: 'enabled', webhook } };
  }

  private stop(req: ActivityRequest): Reply {
    const p = this.contentTypeParam(req);
    if ('error' in p) return p.error;
    const s = this.subs.get(req.tenant.tenantId)?.get(p.ct);
    if (!s || s.status !== 'enabled') return afError('AF20022', 'No subscription found for the specified content type.');
    this.tenantSubs(req.tenant.tenantId).set(p.ct, { status: 'disabled', webhook: s.webhook });
    return { status: 200 };
  }

  private list(req: ActivityRequest): Reply {
    const out: unknown[] = [];
    const m = this.subs.get(req.tenant.tenantId);
    for (const ct of EMULATOR_CONTENT_TYPES) {
      const s = m?.get(ct);
      if (s) out.push({ contentType: ct, status: s.status, webhook: s.webhook });
    }
    return { status: 200, json: out };
  }

  private notifications(req: ActivityRequest): Reply {
    const p = this.contentTypeParam(req);
    if ('error' in p) return p.error;
    return this.requireEnabled(req.tenant.tenantId, p.ct) ?? { status: 200, json: [] };
  }

  /** Parses and checks startTime/endTime; returns the window or the error reply. */
  private window(req: ActivityRequest): { start: number; end: number; startRaw?: string; endRaw?: string } | { error: Reply } {
    const sRaw = req.query.get('starttime');
    const eRaw = req.query.get('endtime');
    const now = this.cfg.now();
    const rule =
      'Start time and end time must both be specified (or both omitted) and must be less than or equal to 24 hours apart, with the start time no more than 7 days in the past';
    if ((sRaw === undefined) !== (eRaw === undefined)) return { error: afError('AF20030', rule + '.') };
    if (sRaw === undefined || eRaw === undefined) {
      const end = Math.floor(now / 1000) * 1000;
      return { start: end - DAY_MS, end };
    }
    const start = parseQueryTime(sRaw);
    if (start === null) return { error: afError('AF20002', 'Invalid parameter type: startTime. Expected type: datetime') };
    const end = parseQueryTime(eRaw);
    if (end === null) return { error: afError('AF20002', 'Invalid parameter type: endTime. Expected type: datetime') };
    if (start >= end || end - start > MAX_WINDOW_MS || start < now - RETENTION_MS) {
      return { error: afError('AF20055', rule + ', and start time prior to end time.') };
    }
    return { start, end, startRaw: sRaw, endRaw: eRaw };
  }

  private content(req: ActivityRequest): Reply {
    const p = this.contentTypeParam(req);
    if ('error' in p) return p.error;
    const tenantId = req.tenant.tenantId;
    this.maybeDisableByFault(tenantId, p.ct);
    const notEnabled = this.requireEnabled(tenantId, p.ct);
    if (notEnabled) return notEnabled;
    const w = this.window(req);
    if ('error' in w) return w.error;
    const now = this.cfg.now();
    const ct = contentTypeIndex(p.ct);

    const entries: Entry[] = [];
    const dupDelay = 10 * 60_000;
    for (const b of this.catalog.windowBlobs(req.tenant, ct, w.start, w.end, now)) {
      entries.push({ blob: b, listedAt: b.visibleAt, dup: 0 });
      if (b.listedTwice && b.visibleAt + dupDelay <= now) entries.push({ blob: b, listedAt: b.visibleAt + dupDelay, dup: 1 });
    }
    entries.sort(compareEntries);

    let from = 0;
    const token = req.query.get('nextpage');
    if (token !== undefined) {
      const cursor = this.parseToken(token, tenantId, ct, w.start, w.end);
      if (!cursor) return afError('AF20031', `Invalid nextPage Input: ${token}.`);
      while (from < entries.length && compareToCursor(entries[from], cursor) < 0) from++;
    }
    const page = entries.slice(from, from + this.cfg.pageSize);
    const headers: Record<string, string> = {};
    if (from + this.cfg.pageSize < entries.length) {
      headers.NextPageUri = this.nextPageUri(req, p.ct, w, this.token(entries[from + this.cfg.pageSize], tenantId, ct, w.start, w.end));
    }
    const json = page.map((e) => ({
      contentType: p.ct,
      contentId: e.blob.contentId,
      contentUri: this.contentUri(tenantId, e.blob.contentId),
      contentCreated: listingTime(e.blob.contentCreated),
      contentExpiration: listingTime(e.blob.contentExpiration),
    }));
    return { status: 200, headers, json };
  }

  private maybeDisableByFault(tenantId: string, ct: string): void {
    const after = this.cfg.faults().disableSubscriptionAfterListings;
    if (!after) return;
    const key = `${tenantId}|${ct}`;
    const n = (this.listings.get(key) ?? 0) + 1;
    this.listings.set(key, n);
    if (n === after && this.subs.get(tenantId)?.get(ct)?.status === 'enabled') this.disable(tenantId, ct);
  }

  private nextPageUri(req: ActivityRequest, ct: string, w: { start: number; end: number; startRaw?: string; endRaw?: string }, token: string): string {
    const version = this.cfg.quirks.nextPageV1 ? 'v1' : 'v1.0';
    const startName = this.cfg.quirks.lowercaseStartTime ? 'starttime' : 'startTime';
    const startValue = w.startRaw ?? queryTime(w.start);
    const endValue = w.endRaw ?? queryTime(w.end);
    let uri = `${this.cfg.baseUrl}/api/${version}/${req.tenant.tenantId}/activity/feed/subscriptions/content?contentType=${ct}&${startName}=${startValue}&endTime=${endValue}&nextPage=${token}`;
    const pub = req.query.get('publisheridentifier');
    if (pub) uri += `&PublisherIdentifier=${pub}`;
    return uri;
  }

  private tokenMac(fields: string, tenantId: string, ct: number, start: number, end: number): string {
    const h = hashString(`${fields}|${tenantId}|${ct}|${start}|${end}`);
    return hex32(mix(h, this.cfg.seedHash));
  }

  /** Opaque to clients (`2015101900R...` in the docs); here it carries the next entry's sort key. */
  private token(e: Entry, tenantId: string, ct: number, start: number, end: number): string {
    const fields = [e.listedAt, e.blob.contentCreated, e.blob.slot, e.blob.index, e.dup].map((n) => n.toString(36)).join('Z'); // base-36 digits are lower case
    return `${hourStamp(start)}00R${fields}R${this.tokenMac(fields, tenantId, ct, start, end)}`;
  }

  private parseToken(token: string, tenantId: string, ct: number, start: number, end: number): number[] | undefined {
    const m = /^(\d{10})00R([0-9a-z]+(?:Z[0-9a-z]+){4})R([0-9a-f]{8})$/.exec(token);
    if (!m) return undefined;
    if (m[1] !== hourStamp(start) || m[3] !== this.tokenMac(m[2], tenantId, ct, start, end)) return undefined;
    return m[2].split('Z').map((s) => parseInt(s, 36));
  }

  private blob(req: ActivityRequest, rawId: string): Reply {
    let contentId: string;
    try {
      contentId = decodeURIComponent(rawId);
    } catch {
      return afError('AF20052', `Content ID ${rawId} in the URL is invalid.`);
    }
    const r = this.catalog.resolveContentId(req.tenant, contentId);
    if (r.kind === 'invalid') return afError('AF20052', `Content ID ${contentId} in the URL is invalid.`);
    const now = this.cfg.now();
    if (r.kind === 'missing' || r.blob.visibleAt > now) return afError('AF20050', `The specified content (${contentId}) does not exist.`);
    const b = r.blob;
    const notEnabled = this.requireEnabled(req.tenant.tenantId, b.contentType);
    if (notEnabled) return notEnabled;
    if (b.expired || now >= b.contentExpiration) {
      return afError('AF20051', `Content requested with the key ${contentId} has already expired. Content older than 7 days cannot be retrieved.`);
    }
    let cached = this.blobCache.get(contentId);
    if (!cached) {
      const built = serializeBlob(this.catalog, this.cfg.seedHash, b);
      cached = { body: built.body, records: built.records };
      // Clients retry blobs (resets, truncation); keep small ones so a retry costs no regeneration.
      if (cached.body.length <= 4 * 1024 * 1024) this.blobCache.set(contentId, cached);
    }
    return {
      status: 200,
      body: cached.body,
      isBlob: true,
      served: { tenantId: req.tenant.tenantId, contentId, records: cached.records },
    };
  }
}

function compareEntries(a: Entry, b: Entry): number {
  return (
    a.listedAt - b.listedAt ||
    a.blob.contentCreated - b.blob.contentCreated ||
    a.blob.slot - b.blob.slot ||
    a.blob.index - b.blob.index ||
    a.dup - b.dup
  );
}

function compareToCursor(e: Entry, c: number[]): number {
  return (
    e.listedAt - c[0] ||
    e.blob.contentCreated - c[1] ||
    e.blob.slot - c[2] ||
    e.blob.index - c[3] ||
    e.dup - c[4]
  );
}

const DLP_TYPES = [
  { id: '50842eb7-edc8-4019-85dd-5a5c1f2bb085', name: 'CreditCardNumber' },
  { id: '0e9b3178-9678-47dd-a509-37222ca96b42', name: 'EUDebitCardNumber' },
  { id: 'a44669fe-0d48-453d-a9b1-2cc83f2cba77', name: 'USSocialSecurityNumber' },
];
