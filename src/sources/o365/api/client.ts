/**
 * The Management Activity API client for one tenant: subscriptions, content listings (paged via
 * the `NextPageUri` header) and blob downloads. Every call is pinned to the configured API
 * origin, carries `PublisherIdentifier`, goes through the tenant's rate limiter, is retried by
 * the retry policy, and renews the token once on a 401.
 */
import type { Readable } from 'node:stream';
import type { AxiosResponse } from 'axios';
import type { ActivityApi, ContentRef, SubscriptionStatus, TokenProvider } from '../../../contracts';
import { BridgeError, isBridgeError, redactUri } from '../../../errors';
import { silentLogger, type Logger } from '../../../obs/log';
import type { Metrics } from '../../../obs/metrics';
import type { HttpStack } from '../../../net/http';
import { mapHttpError, mapTransportError, parseErrorBody, HINT_AUDIT_OFF, type CallContext } from './errors';
import { abortError, withRetry, parseRetryAfter, type RetryOptions } from '../../../net/retry';
import { RateLimiter, DEFAULT_REQUESTS_PER_MINUTE } from './rate-limiter';
import {
  clampWindow,
  earliestStart,
  entryTimeProblem,
  estimateSkew,
  formatApiTime,
  MAX_SKEW_CORRECTION_MS,
  MAX_WINDOW_MS,
  SKEW_SAMPLES,
  WINDOW_SAFETY_MARGIN_MS,
  type ClampedWindow,
} from './window';
import { apiOrigin, assertApiOrigin, listingStart, operationUrl, withPublisher } from './urls';
import { guardBlobStream, tooLarge } from './blob-stream';
import { noteListed, quietFeedStart } from '../quiet-feed';

export { clampWindow, MAX_WINDOW_MS, MAX_AGE_MS, WINDOW_SAFETY_MARGIN_MS, earliestStart, formatApiTime } from './window';

export interface ActivityApiOptions {
  tenantId: string;
  apiRoot: string;
  /** Sent as `PublisherIdentifier` on every call; default the tenant id (as the docs advise). */
  publisherId?: string;
  tokens: TokenProvider;
  http: HttpStack;
  /** Blob size limit; larger blobs are refused (BLOB_TOO_LARGE). Default 256 MiB. */
  maxBlobBytes?: number;
  /** Per-tenant request budget. Default 1,500/min (baseline quota is 2,000/min). */
  requestsPerMinute?: number;
  clock?: () => number;
  logger?: Logger;
  retry?: RetryOptions;
  /** Safety margin kept from the 7-day limit. */
  windowMarginMs?: number;
  /** Aborts every call and retry wait that has no signal of its own (the bridge's shutdown). */
  signal?: AbortSignal;
  /** Counters for requests, throttling, retries and bytes (per call, not per record). */
  metrics?: Pick<Metrics, 'apiRequest' | 'throttled' | 'retry' | 'bytesFetched'>;
  /** Pages one listing follows at most (a NextPageUri chain that never ends). Default 1,000. */
  maxListingPages?: number;
  /** Entries one listing collects at most. Default 200,000. */
  maxListingEntries?: number;
  /**
   * When start requests were sent, so none is repeated within 15 minutes, across restarts too
   * (the bridge passes the state dir's start log; default: in memory).
   */
  subscriptionStarts?: StartLogLike;
}

/** One remembered start request (the state dir's start log implements this shape). */
export interface StartLogEntry {
  requestedAt: number;
  notBefore: number;
  outcome: string;
}

export interface StartLogLike {
  get(tenantId: string, contentType: string): StartLogEntry | undefined;
  put(tenantId: string, contentType: string, e: StartLogEntry): Promise<void>;
}

/**
 * What one `listContent` call actually did, filled in as it runs (pass an object, read it after the
 * loop). The poller must not close a window the API was not asked for, nor one listed only in part.
 */
export interface ListingInfo {
  /** The window the API was last asked for (after clamping); null when no request was made. */
  asked: { start: Date; end: Date } | null;
  /** False when the listing stopped before the API's last page (page or entry bound). */
  complete: boolean;
  pages: number;
  entries: number;
  /** Entries refused for an untrustworthy contentCreated / contentId (logged with their ids). */
  refused: number;
  /** The API pointed back to a page already followed: stopped there, keeping what was listed. */
  looped: boolean;
}

export interface SubscriptionResult extends SubscriptionStatus {
  /** Set when the content type could not be enabled (e.g. API_SUBSCRIPTION_DISABLED). */
  error?: BridgeError;
  /** With status `pending`: a start was requested (or refused as too frequent); no new request before this (ms). */
  notBefore?: number;
}

/** The ActivityApi contract plus what the CLI and poller use. */
export interface ActivityClient extends ActivityApi {
  listContent(contentType: string, start: Date, end: Date, info?: ListingInfo): AsyncGenerator<ContentRef[]>;
  listSubscriptions(): Promise<SubscriptionStatus[]>;
  /**
   * Starts one content type (one request, never retried on throttling); `AF20024` (already enabled) is
   * success; "too many frequent subscription start requests" (HTTP 429) is API_THROTTLED, not retryable.
   */
  startSubscription(contentType: string): Promise<SubscriptionStatus>;
  stopSubscription(contentType: string): Promise<void>;
  ensureSubscriptions(contentTypes: readonly string[]): Promise<SubscriptionResult[]>;
  /** Local clock corrected for a server clock running ahead: windows computed from it stay valid. */
  now(): number;
  /** Last measured server-minus-local clock difference (ms), from `Date` headers. */
  readonly clockSkewMs: number;
  /** The body as a Node stream (the poller only needs the AsyncIterable of the contract). */
  fetchBlob(contentUri: string, signal?: AbortSignal): Promise<Readable>;
}

export const DEFAULT_MAX_BLOB_BYTES = 256 * 1024 * 1024;
/** Microsoft asks for 15 minutes between start requests for the same content type. */
export const START_INTERVAL_MS = 15 * 60_000;

/**
 * The wait in a start refusal, "Too many frequent subscription start requests. Please retry again
 * after 14m 56s" (the form Elastic's integration was answered with), in ms; undefined when absent.
 */
export function parseStartWait(message: string | undefined): number | undefined {
  const m = /retry\s+(?:again\s+)?after\s+(?:(\d+)\s*h\s*)?(?:(\d+)\s*m\s*)?(?:(\d+)\s*s)?/i.exec(message ?? '');
  if (!m || (m[1] === undefined && m[2] === undefined && m[3] === undefined)) return undefined;
  return ((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000;
}
/** Skew beyond which we warn (Date has 1-second resolution). */
export const SKEW_WARN_MS = 3 * 60_000;
/** A next-page link starting closer than this to the 7-day limit is dropped (the request would fail on arrival). */
const AGED_LINK_MARGIN_MS = 60_000;
/** How many times one listing may fall back to a fresh, clamped start. */
const MAX_RELISTS = 3;
/** Listing/subscription bodies are small; cap them anyway. */
const MAX_LISTING_BYTES = 32 * 1024 * 1024;
const MAX_ERROR_BODY_BYTES = 64 * 1024;
export const DEFAULT_MAX_LISTING_PAGES = 1000;
export const DEFAULT_MAX_LISTING_ENTRIES = 200_000;
/** Refused listing entries logged one by one per listing; the rest only counted. */
const MAX_REFUSED_LOGGED = 10;

/** Rejects as soon as `signal` aborts, whatever `p` does (a token request that trickles must not hold a stop). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(abortError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

interface Call {
  method: 'GET' | 'POST';
  url: URL;
  kind: 'api' | 'blob';
  stream?: boolean;
  signal?: AbortSignal;
  /** Errors that end the call at once instead of being retried (a throttled subscription start). */
  final?: (e: BridgeError) => boolean;
}

async function readSmall(stream: Readable, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of stream) {
      const b = c as Buffer;
      chunks.push(b);
      n += b.length;
      if (n >= max) break;
    }
  } catch {
    /* a broken error body still leaves the status to map */
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, max);
}

function header(res: AxiosResponse, name: string): string | undefined {
  const v = (res.headers as Record<string, unknown>)[name.toLowerCase()];
  if (Array.isArray(v)) return v.length ? String(v[0]).trim() : undefined;
  return typeof v === 'string' ? v.trim() : v === undefined || v === null ? undefined : String(v);
}

function parseJson(text: unknown, uri: string, status: number): unknown {
  if (typeof text !== 'string') return text;
  try {
    return JSON.parse(text);
  } catch {
    throw new BridgeError('API_SERVER', `response from ${redactUri(uri)} is not JSON (HTTP ${status}, ${text.length} chars); retried`, {
      retryable: true,
      details: { uri: redactUri(uri), status, afCode: null },
    });
  }
}

export function createActivityApi(opts: ActivityApiOptions): ActivityClient {
  const { tenantId, tokens, http } = opts;
  const apiRoot = opts.apiRoot.replace(/\/+$/, '');
  const origin = apiOrigin(apiRoot);
  const publisherId = opts.publisherId ?? tenantId;
  const clock = opts.clock ?? Date.now;
  const maxBlobBytes = opts.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES;
  const margin = opts.windowMarginMs ?? WINDOW_SAFETY_MARGIN_MS;
  const log = (opts.logger ?? silentLogger).child({ tenant: tenantId, component: 'api' });
  const retryOpts: RetryOptions = { ...opts.retry };
  const limiter = new RateLimiter({ requestsPerMinute: opts.requestsPerMinute ?? DEFAULT_REQUESTS_PER_MINUTE, clock, sleep: retryOpts.sleep });

  let skewMs = 0;
  const skewSamples: number[] = [];
  let lastSkewWarn = -Infinity;
  const starts: StartLogLike = opts.subscriptionStarts ?? memoryStartLog();
  /** issue-14: real time since anything was listed, in any content type of the tenant ("audit logging off?"). */
  let quiet = quietFeedStart(clock());

  const observeDate = (res: AxiosResponse) => {
    const d = header(res, 'date');
    if (!d) return;
    const server = Date.parse(d);
    if (Number.isNaN(server)) return;
    const local = clock();
    skewSamples.push(server - local);
    if (skewSamples.length > SKEW_SAMPLES) skewSamples.shift();
    // One answer's Date moves nothing: the median of several, bounded.
    const est = estimateSkew(skewSamples);
    skewMs = est.skewMs;
    if (Math.abs(est.measuredMs) > SKEW_WARN_MS && local - lastSkewWarn > 10 * 60_000) {
      lastSkewWarn = local;
      log.warn('clock skew with the API server', {
        skewSeconds: Math.round(est.measuredMs / 1000),
        ...(est.capped ? { correctionSeconds: Math.round(est.skewMs / 1000), cappedAtSeconds: MAX_SKEW_CORRECTION_MS / 1000 } : {}),
        hint: est.capped
          ? 'the API server\'s clock (or this host\'s) is far off: windows are corrected by at most the cap; sync the system clock (NTP)'
          : 'sync the system clock (NTP); windows are computed to stay valid anyway',
      });
    }
  };

  const now = () => clock() + Math.max(0, skewMs);

  const metrics = opts.metrics;
  /** The operation's name for metrics: `blob`, or the path after activity/feed/ (e.g. `subscriptions/content`). */
  const operationOf = (call: Call) => (call.kind === 'blob' ? 'blob' : (/\/activity\/feed\/(.+)$/.exec(call.url.pathname)?.[1] ?? 'other'));

  const sendOnce = async (call: Call, token: string): Promise<AxiosResponse> => {
    try {
      const res = await sendRaw(call, token);
      metrics?.apiRequest(tenantId, operationOf(call), res.status);
      if (!call.stream && typeof res.data === 'string') metrics?.bytesFetched(tenantId, res.data.length);
      return res;
    } catch (err) {
      metrics?.apiRequest(tenantId, operationOf(call), (err as BridgeError).code === 'API_TIMEOUT' ? 'timeout' : 'network');
      throw err;
    }
  };

  const sendRaw = async (call: Call, token: string): Promise<AxiosResponse> => {
    const ctx: CallContext = { uri: call.url.toString(), kind: call.kind };
    try {
      return await http.axios.request({
        method: call.method,
        url: call.url.toString(),
        headers: {
          Authorization: `Bearer ${token}`,
          Accept: 'application/json',
          // Only encodings guardBlobStream can decode.
          ...(call.stream ? { 'Accept-Encoding': 'gzip, deflate, br' } : {}),
        },
        responseType: call.stream ? 'stream' : 'text',
        transformResponse: [(d: unknown) => d],
        maxContentLength: call.stream ? -1 : MAX_LISTING_BYTES,
        signal: call.signal,
        // Blobs are decoded in guardBlobStream, which needs Content-Encoding to judge truncation.
        decompress: !call.stream,
      });
    } catch (err) {
      // Never keep axios' error: its config carries the Authorization header.
      throw mapTransportError(err, ctx);
    }
  };

  const getToken = async (force: boolean, signal: AbortSignal | undefined): Promise<string> => {
    try {
      return await untilAborted(tokens.getToken(force), signal);
    } catch (err) {
      if (err instanceof BridgeError) throw err;
      throw new BridgeError('AUTH_FAILED', `could not get a token for tenant ${tenantId}; check the credential`, { retryable: false });
    }
  };

  /**
   * One API call with rate limiting, retries and one token renewal on 401. Resolves with a 2xx
   * response and, unless streaming, its parsed JSON body (a non-JSON body is retried like a 5xx).
   */
  const request = async (call: Call): Promise<{ res: AxiosResponse; body: unknown }> => {
    // Without it a stop waited out the retry backoff (up to a minute during a token outage).
    if (!call.signal && opts.signal) call.signal = opts.signal;
    withPublisher(call.url, publisherId);
    assertApiOrigin(call.url.toString(), origin, call.kind === 'blob' ? 'contentUri' : 'request');
    const ctx: CallContext = { uri: call.url.toString(), kind: call.kind };
    let renewed = false;
    return withRetry(
      async () => {
        await limiter.acquire(call.signal);
        let res = await sendOnce(call, await getToken(false, call.signal));
        if (res.status === 401 && !renewed) {
          renewed = true;
          if (call.stream) await readSmall(res.data as Readable, MAX_ERROR_BODY_BYTES);
          log.info('token refused (401); renewing once', { uri: redactUri(ctx.uri) });
          const fresh = await getToken(true, call.signal);
          await limiter.acquire(call.signal);
          res = await sendOnce(call, fresh);
        }
        observeDate(res);
        if (res.status >= 200 && res.status < 300) {
          if (call.stream) return { res, body: undefined };
          const text = res.data;
          const empty = typeof text === 'string' && text.trim() === '';
          return { res, body: empty ? undefined : parseJson(text, ctx.uri, res.status) };
        }
        const body = call.stream ? await readSmall(res.data as Readable, MAX_ERROR_BODY_BYTES) : res.data;
        const mapped = mapHttpError(res.status, body, ctx, parseRetryAfter(header(res, 'retry-after'), clock()));
        if (call.final?.(mapped)) throw new BridgeError(mapped.code, mapped.message, { retryable: false, details: { ...mapped.details, apiMessage: parseErrorBody(body).message ?? null } });
        throw mapped;
      },
      {
        ...retryOpts,
        signal: call.signal,
        onRetry: (err, attempt, delayMs) => {
          metrics?.retry(tenantId, err.code);
          if (err.code === 'API_THROTTLED') {
            metrics?.throttled(tenantId);
            limiter.pauseFor(delayMs);
          }
          log.info('retrying', { code: err.code, afCode: err.details.afCode, status: err.details.status, attempt, delayMs, uri: redactUri(ctx.uri) });
        },
      },
    );
  };

  const listSubscriptions = async (): Promise<SubscriptionStatus[]> => {
    const { body } = await request({ method: 'GET', url: operationUrl(apiRoot, tenantId, 'subscriptions/list'), kind: 'api' });
    if (!Array.isArray(body)) {
      throw new BridgeError('API_SERVER', `subscriptions/list for tenant ${tenantId} did not return an array`, { retryable: true });
    }
    return body as SubscriptionStatus[];
  };

  type StartAnswer = { kind: 'started'; status: SubscriptionStatus } | { kind: 'already' } | { kind: 'wait'; waitMs: number; error: BridgeError };

  /**
   * One start request. Written to the start log before it is sent (a crash right after sending still
   * counts for the 15 minutes), and never retried on throttling: every attempt would restart the wait.
   */
  const requestStart = async (contentType: string): Promise<StartAnswer> => {
    const t = clock();
    await starts.put(tenantId, contentType, { requestedAt: t, notBefore: t + START_INTERVAL_MS, outcome: 'sent' });
    const url = operationUrl(apiRoot, tenantId, 'subscriptions/start', { contentType });
    try {
      const { body } = await request({ method: 'POST', url, kind: 'api', final: (e) => e.code === 'API_THROTTLED' });
      const b = (body && typeof body === 'object' ? body : {}) as Partial<SubscriptionStatus>;
      await starts.put(tenantId, contentType, { requestedAt: t, notBefore: t + START_INTERVAL_MS, outcome: 'started' });
      log.info('subscription started', { contentType });
      return { kind: 'started', status: { contentType: b.contentType ?? contentType, status: b.status ?? 'enabled', webhook: b.webhook ?? null } };
    } catch (err) {
      // AF20024: "already enabled, no property change" — success, not an error.
      if (isBridgeError(err) && err.details.afCode === 'AF20024') {
        await starts.put(tenantId, contentType, { requestedAt: t, notBefore: t + START_INTERVAL_MS, outcome: 'already-enabled' });
        return { kind: 'already' };
      }
      if (isBridgeError(err, 'API_THROTTLED')) {
        // "Too many frequent subscription start requests. Please retry again after 14m 56s": started
        // recently (by us before a restart, or by another tool), or wait. Either way: not a failure.
        const told = parseStartWait(String(err.details.apiMessage ?? err.message));
        const ra = typeof err.details.retryAfterMs === 'number' ? err.details.retryAfterMs : undefined;
        const waitMs = Math.max(told ?? ra ?? START_INTERVAL_MS, 1000);
        const notBefore = Math.max(t + START_INTERVAL_MS, clock() + waitMs);
        await starts.put(tenantId, contentType, { requestedAt: t, notBefore, outcome: 'wait' });
        return { kind: 'wait', waitMs: notBefore - clock(), error: err };
      }
      throw err;
    }
  };

  const startSubscription = async (contentType: string): Promise<SubscriptionStatus> => {
    const a = await requestStart(contentType);
    if (a.kind === 'started') return a.status;
    if (a.kind === 'already') return { contentType, status: 'enabled', webhook: null };
    throw new BridgeError(
      'API_THROTTLED',
      `the API refused to start ${contentType} now (start requests must be 15 minutes apart); ask again in ${Math.ceil(a.waitMs / 60_000)} min, or check \`subscriptions list\`: it may be enabled already`,
      { retryable: false, details: { ...a.error.details, contentType, retryAfterMs: a.waitMs } },
    );
  };

  const stopSubscription = async (contentType: string): Promise<void> => {
    await request({ method: 'POST', url: operationUrl(apiRoot, tenantId, 'subscriptions/stop', { contentType }), kind: 'api' });
    log.info('subscription stopped', { contentType });
  };

  const ensureSubscriptions = async (contentTypes: readonly string[]): Promise<SubscriptionResult[]> => {
    // List first: an enabled subscription needs no start request at all.
    const current = await listSubscriptions();
    const out: SubscriptionResult[] = [];
    for (const ct of contentTypes) {
      const found = current.find((s) => s && typeof s.contentType === 'string' && s.contentType.toLowerCase() === ct.toLowerCase());
      if (found && String(found.status).toLowerCase() === 'enabled') {
        out.push(found);
        continue;
      }
      const pending = (notBefore: number): SubscriptionResult => ({ contentType: ct, status: 'pending', webhook: found?.webhook ?? null, notBefore });
      const last = starts.get(tenantId, ct);
      if (last !== undefined && clock() < last.notBefore) {
        // Don't hammer subscriptions/start: Microsoft asks for 15 minutes between attempts (kept across restarts).
        log.info('subscription start requested recently; not asking again yet', {
          contentType: ct,
          status: found?.status ?? 'absent',
          requestedAt: new Date(last.requestedAt).toISOString(),
          notBefore: new Date(last.notBefore).toISOString(),
        });
        out.push(pending(last.notBefore));
        continue;
      }
      try {
        const a = await requestStart(ct);
        if (a.kind === 'started') out.push(a.status);
        else if (a.kind === 'already') out.push({ contentType: ct, status: 'enabled', webhook: found?.webhook ?? null });
        else {
          const notBefore = clock() + a.waitMs;
          log.info('subscription start refused as too frequent: it was started recently, or must wait; asking again later', {
            contentType: ct,
            waitSeconds: Math.round(a.waitMs / 1000),
            notBefore: new Date(notBefore).toISOString(),
          });
          out.push(pending(notBefore));
        }
      } catch (err) {
        if (isBridgeError(err, 'API_SUBSCRIPTION_DISABLED') || isBridgeError(err, 'API_BAD_REQUEST')) {
          log.error('subscription could not be enabled', { contentType: ct, error: err });
          out.push({ contentType: ct, status: found?.status ?? 'disabled', webhook: found?.webhook ?? null, error: err });
          continue;
        }
        throw err;
      }
    }
    return out;
  };

  const noteListing = (contentType: string, _win: ClampedWindow, items: number) => {
    const { state, warn } = noteListed(quiet, clock(), items); // issue-14 hook: pure rule in ../quiet-feed.ts
    quiet = state;
    if (warn) log.warn('no content listed for 24 hours in any content type', { contentType, since: new Date(state.since).toISOString(), hint: `an empty feed often means unified audit logging is off or admin consent is missing: ${HINT_AUDIT_OFF}` });
  };

  /** A page's identity: its URL as we send it (PublisherIdentifier added), so A → B → A is seen as a loop. */
  const keyOf = (u: URL) => withPublisher(new URL(u.toString()), publisherId).toString();
  const maxPages = opts.maxListingPages ?? DEFAULT_MAX_LISTING_PAGES;
  const maxEntries = opts.maxListingEntries ?? DEFAULT_MAX_LISTING_ENTRIES;

  /** Drops entries whose time or id can't be trusted (logged with the content id); other junk passes to the poller. */
  const screen = (contentType: string, page: unknown[], info: ListingInfo, end: Date): unknown[] => {
    let out: unknown[] | undefined;
    // Content is created before it becomes listable, so never after the window's end (plus the server's lead).
    const t = +end + Math.max(0, skewMs);
    for (let i = 0; i < page.length; i++) {
      const r = page[i] as { contentId?: unknown; contentCreated?: unknown } | null;
      const problem = r && typeof r === 'object' && typeof r.contentId === 'string' ? entryTimeProblem(r.contentCreated, r.contentId, t) : undefined;
      if (problem === undefined) {
        out?.push(r);
        continue;
      }
      out ??= page.slice(0, i);
      info.refused++;
      if (info.refused <= MAX_REFUSED_LOGGED) {
        log.warn('listing entry refused: its time or id cannot be trusted; it is not fetched and cannot move the checkpoint', {
          contentType,
          contentId: (r!.contentId as string).slice(0, 200),
          reason: problem,
        });
      }
    }
    return out ?? page;
  };

  async function* listContent(contentType: string, start: Date, end: Date, infoOut?: ListingInfo): AsyncGenerator<ContentRef[]> {
    const info: ListingInfo = infoOut ?? ({} as ListingInfo);
    Object.assign(info, { asked: null, complete: true, pages: 0, entries: 0, refused: 0, looped: false } satisfies ListingInfo);
    let win = clampWindow(start, end, now(), margin);
    if (!win) {
      log.warn('listing window is empty or entirely past the 7-day limit; nothing to list', { contentType, start: formatApiTime(start), end: formatApiTime(end) });
      return;
    }
    if (win.startClamped) log.warn('listing start moved forward to the 7-day limit', { contentType, asked: formatApiTime(start), start: formatApiTime(win.start) });
    const firstUrl = (w: ClampedWindow) =>
      operationUrl(apiRoot, tenantId, 'subscriptions/content', { contentType, startTime: formatApiTime(w.start), endTime: formatApiTime(w.end) });
    let url: URL | null = firstUrl(win);
    let isNextPage = false;
    let relists = 0;
    let items = 0;
    const seen = new Set<string>();

    /** False when nothing of the window is left to list; throws when re-listing does not converge. */
    const relist = (why: string): boolean => {
      relists++;
      if (relists > MAX_RELISTS) {
        throw new BridgeError('API_BAD_WINDOW', `listing ${contentType} kept failing near the 7-day limit (${why}); the window will be recomputed`, {
          retryable: false,
          details: { contentType, start: formatApiTime(start), end: formatApiTime(end) },
        });
      }
      const fresh = clampWindow(start, end, now(), margin);
      if (!fresh) {
        log.warn('listing window aged entirely past the 7-day limit; nothing left to list', { contentType, why });
        return false;
      }
      log.warn('re-listing the window from a fresh, clamped start', { contentType, why, start: formatApiTime(fresh.start), end: formatApiTime(fresh.end) });
      win = fresh;
      url = firstUrl(fresh);
      isNextPage = false;
      seen.clear();
      return true;
    };

    while (url) {
      if (isNextPage) {
        const ps = listingStart(url.toString());
        // A smaller margin than for new windows: a freshly clamped start must not count as aged at once.
        if (ps !== undefined && ps < earliestStart(now(), AGED_LINK_MARGIN_MS)) {
          // The queued link's start aged past the limit: following it would only earn AF20055/AF20030.
          if (!relist('next-page start aged past the 7-day limit')) return;
          continue;
        }
      }
      let res: AxiosResponse;
      let body: unknown;
      try {
        ({ res, body } = await request({ method: 'GET', url, kind: 'api' }));
      } catch (err) {
        if (isNextPage && isBridgeError(err, 'API_BAD_WINDOW')) {
          if (relist(`next page refused (${String(err.details.afCode)})`)) continue;
        }
        throw err;
      }
      if (!Array.isArray(body)) {
        throw new BridgeError('API_SERVER', `content listing ${redactUri(url.toString())} did not return a JSON array`, {
          retryable: true,
          details: { uri: redactUri(url.toString()) },
        });
      }
      info.asked = { start: win.start, end: win.end };
      seen.add(keyOf(url));
      info.pages++;
      info.entries += body.length;
      items += body.length;
      yield screen(contentType, body, info, end) as ContentRef[];
      const next = header(res, 'NextPageUri');
      if (!next) break;
      // Pin before following: the token must never go to another host or scheme.
      const nextUrl = assertApiOrigin(next, origin, 'NextPageUri');
      const key = keyOf(nextUrl);
      if (seen.has(key)) {
        // Everything the chain reaches was listed: keep it, stop following.
        info.looped = true;
        log.warn('the API returned a NextPageUri already followed; stopping this listing there, keeping what was listed', { contentType, uri: redactUri(key), pages: info.pages });
        break;
      }
      if (info.pages >= maxPages || info.entries >= maxEntries) {
        info.complete = false;
        log.error('listing stopped early: the API kept sending NextPageUri; what was listed is processed, the rest of the window is listed again later', {
          contentType,
          pages: info.pages,
          entries: info.entries,
          maxPages,
          maxEntries,
          start: formatApiTime(win.start),
          end: formatApiTime(win.end),
        });
        break;
      }
      url = nextUrl;
      isNextPage = true;
    }
    if (info.refused > MAX_REFUSED_LOGGED) log.warn('listing entries refused', { contentType, refused: info.refused, logged: MAX_REFUSED_LOGGED });
    noteListing(contentType, win, items);
  }

  const fetchBlob = async (contentUri: string, signal?: AbortSignal): Promise<Readable> => {
    const url = assertApiOrigin(contentUri, origin, 'contentUri');
    const { res } = await request({ method: 'GET', url, kind: 'blob', stream: true, signal });
    const stream = res.data as Readable;
    const lenHeader = header(res, 'content-length');
    const len = lenHeader !== undefined && /^\d+$/.test(lenHeader) ? Number(lenHeader) : undefined;
    if (len !== undefined && len > maxBlobBytes) {
      stream.destroy();
      throw tooLarge(contentUri, maxBlobBytes, `Content-Length ${len}`);
    }
    if (metrics) {
      // Counted per MiB and at the end, not per 16 KiB piece: a labelled counter costs about a microsecond a call.
      let unreported = 0;
      const report = () => {
        if (unreported > 0) metrics.bytesFetched(tenantId, unreported);
        unreported = 0;
      };
      stream.on('data', (chunk: Buffer) => {
        if ((unreported += chunk.length) >= 1024 * 1024) report();
      });
      stream.once('end', report);
      stream.once('close', report);
    }
    return guardBlobStream(stream, {
      uri: url.toString(),
      maxBytes: maxBlobBytes,
      expectedBytes: len,
      encoding: header(res, 'content-encoding'),
      signal,
      idleMs: http.timeoutMs,
      totalMs: http.bodyTimeoutMs,
    });
  };

  return {
    tenantId,
    ensureSubscriptions,
    listContent,
    fetchBlob,
    listSubscriptions,
    startSubscription,
    stopSubscription,
    now,
    get clockSkewMs() {
      return skewMs;
    },
  };
}

function memoryStartLog(): StartLogLike {
  const m = new Map<string, StartLogEntry>();
  return {
    get: (t, ct) => m.get(`${t}|${ct}`),
    put: async (t, ct, e) => void m.set(`${t}|${ct}`, { ...e }),
  };
}
