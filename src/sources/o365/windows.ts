/**
 * The poller's decisions as pure functions (after Beats' poll transactions): which windows to list,
 * which listed blobs to skip, and how far the checkpoint may move. No I/O here, so the rules that
 * keep us from losing data are unit tests over plain values with an injected "now".
 *
 * Checkpoint meaning (per tenant and content type):
 *   every listed blob with contentCreated < cursor has been acknowledged (or counted as lost at the
 *   source), and so have the blobs in `doneAtCursor`, whose contentCreated equals cursor.
 * The cursor moves only over a contiguous prefix of finished blobs in (contentCreated, contentId)
 * order, so a failed blob holds it back and is never stepped over.
 */
import { MAX_AGE_MS, MAX_WINDOW_MS, WINDOW_SAFETY_MARGIN_MS, parseApiTime } from './api/window';
import type { ContentRef } from '../../contracts';

export { MAX_AGE_MS, MAX_WINDOW_MS };
export const HOUR_MS = 3_600_000;

export interface Window {
  start: number; // ms, inclusive
  end: number; // ms, exclusive
}

export interface CursorState {
  cursor: string | null;
  doneAtCursor: string[];
}

export interface PlanOptions {
  now: number;
  /** How far back a first run starts (ms). */
  initialLookbackMs: number;
  /** Re-listed on every pass to catch content that became listable late (ms). */
  trailingMs: number;
  /** Kept away from the API's 7-day limit: clock skew and request latency must not push a window past it. */
  ageMarginMs: number;
  maxWindowMs?: number;
}

/**
 * The earliest listing start the API still answers for: everything it holds is listed from here.
 * Never later than the API client's own clamp (WINDOW_SAFETY_MARGIN_MS): a larger margin here
 * would skip blobs the API still holds.
 */
export function earliestReachable(o: Pick<PlanOptions, 'now' | 'ageMarginMs'>): number {
  return Math.ceil((o.now - MAX_AGE_MS + Math.min(o.ageMarginMs, WINDOW_SAFETY_MARGIN_MS)) / 1000) * 1000;
}

/** Where the next pass starts listing. */
export function listingStart(cursor: string | null, o: PlanOptions): number {
  const oldest = earliestReachable(o);
  let start = cursor === null ? o.now - o.initialLookbackMs : Math.min(Date.parse(cursor), o.now - o.trailingMs);
  if (!Number.isFinite(start)) start = o.now - o.initialLookbackMs;
  return Math.max(start, oldest);
}

/** A time range [from, to) (ISO strings) whose content can no longer be fetched: to be recorded as lost. */
export interface LostRange {
  from: string;
  to: string;
  code: string;
}

/**
 * The range a checkpoint older than the API's retention can never recover: from its cursor to the
 * earliest start the API still answers for. null when nothing is out of reach (or no cursor yet:
 * a first run's look-back is the user's choice, bounded by the config).
 *
 * Poller hook (after `listingStart`): `const gap = unreachableRange(cp.cursor, plan); if (gap) recordLostRange(cp, gap)`
 * (checkpoint lost list, warning log, metric, status).
 */
export function unreachableRange(cursor: string | null, o: PlanOptions): LostRange | null {
  if (cursor === null) return null;
  const c = Date.parse(cursor);
  if (!Number.isFinite(c)) return null;
  const oldest = earliestReachable(o);
  if (c >= oldest) return null;
  return { from: new Date(c).toISOString(), to: new Date(oldest).toISOString(), code: 'CONTENT_EXPIRED' };
}

/** What `listContent` reports about one listing (the API client's ListingInfo, structurally). */
export interface ListedWindow {
  asked: { start: Date | number; end: Date | number } | null;
  complete: boolean;
}

/**
 * Whether a window whose listed blobs are all finished may be closed (the cursor moved to its end):
 * only when the API was actually asked for the whole of it and answered to its last page. An empty
 * listing of a window never asked for (clamped away, skipped) closes nothing.
 *
 * Poller hook: pass `info` as listContent's 4th argument and call `fin.closeWindow()` only when
 * `windowClosable(w, info)`.
 */
export function windowClosable(w: Window, info: ListedWindow | undefined): boolean {
  if (!info || !info.asked || !info.complete) return false;
  return +info.asked.start <= w.start && +info.asked.end >= w.end;
}

/**
 * The part of a window the listing could not reach because its start had to be moved forward (it
 * aged past the 7-day limit meanwhile): [w.start, asked.start), to be recorded as lost. null when none.
 */
export function listingGap(w: Window, info: ListedWindow | undefined): LostRange | null {
  if (!info?.asked) return null;
  const s = +info.asked.start;
  if (s <= w.start) return null;
  return { from: new Date(w.start).toISOString(), to: new Date(Math.min(s, w.end)).toISOString(), code: 'CONTENT_EXPIRED' };
}

/** How a blob's failure is handled. */
export type BlobFailureAction =
  /** Retry within this pass (transient: 5xx, resets, timeouts, throttling). */
  | 'retry'
  /** Done as lost at once, with its code (expired, foreign host, too large). */
  | 'lost'
  /** A non-retryable answer for this blob alone (a 3xx, a 4xx): keep it aside, retry on later passes, other blobs go on. */
  | 'defer'
  /** The tenant is unusable (credentials, permissions): stop the pass. */
  | 'fatal';

export const LOST_AT_ONCE = new Set(['CONTENT_EXPIRED', 'FOREIGN_HOST', 'BLOB_TOO_LARGE']);
const TENANT_FATAL = new Set(['AUTH_FAILED', 'API_UNAUTHORIZED', 'API_FORBIDDEN', 'API_TENANT', 'API_NOT_SUBSCRIBED', 'API_SUBSCRIPTION_DISABLED']);

/** Classifies a blob failure (a BridgeError's code and retryable flag). */
export function classifyBlobFailure(err: { code?: string; retryable?: boolean } | undefined): BlobFailureAction {
  const code = err?.code ?? '';
  if (LOST_AT_ONCE.has(code)) return 'lost';
  if (TENANT_FATAL.has(code)) return 'fatal';
  if (err?.retryable) return 'retry';
  return code ? 'defer' : 'retry';
}

/** Default time a blob keeps being retried after a non-retryable answer before it is recorded as lost. */
export const DEFAULT_BLOB_GIVE_UP_MS = 6 * HOUR_MS;

/**
 * Bounded memory of blobs that failed with a non-retryable answer ('defer'): when each first failed, so
 * that after `giveUpAfterMs` (or once past its contentExpiration) it is recorded as lost with its code
 * and the cursor can move on. Meanwhile it holds the cursor, but not the other blobs of the pass.
 *
 * Poller hook (in the worker, on a failed outcome):
 *   `const a = classifyBlobFailure(err); if (a === 'defer') { if (deferred.giveUp(ref, err.code, now)) → recordLost(ref, code) and fin.finish(i); else fin.fail(i) and go on (not fatal) }`
 * (keep one BlobFailures per (tenant, content type) across passes; `forget(id)` when a blob succeeds.)
 */
export class BlobFailures {
  private readonly first = new Map<string, { at: number; code: string; attempts: number }>();

  constructor(
    private readonly giveUpAfterMs = DEFAULT_BLOB_GIVE_UP_MS,
    private readonly capacity = 10_000,
  ) {}

  /** Records a failure; true when the blob should now be given up (recorded as lost). */
  giveUp(ref: Pick<ContentRef, 'contentId' | 'contentExpiration'>, code: string, now: number): boolean {
    let f = this.first.get(ref.contentId);
    if (!f) {
      f = { at: now, code, attempts: 0 };
      this.first.set(ref.contentId, f);
      while (this.first.size > this.capacity) this.first.delete(this.first.keys().next().value as string);
    }
    f.attempts++;
    f.code = code;
    const exp = parseApiTime(String(ref.contentExpiration ?? ''));
    if (exp !== undefined && now >= exp) return true;
    return now - f.at >= this.giveUpAfterMs;
  }

  /** The blob succeeded (or was recorded): forget it. */
  forget(contentId: string): void {
    this.first.delete(contentId);
  }

  get(contentId: string): { at: number; code: string; attempts: number } | undefined {
    return this.first.get(contentId);
  }

  get size(): number {
    return this.first.size;
  }
}

/** Consecutive windows of at most 24 h from `start` up to `now`. */
export function planWindows(start: number, o: PlanOptions): Window[] {
  const max = Math.min(o.maxWindowMs ?? MAX_WINDOW_MS, MAX_WINDOW_MS);
  const out: Window[] = [];
  // Whole seconds: the API takes YYYY-MM-DDTHH:MM:SS, and a window must not lose the sub-second tail.
  let s = Math.floor(start / 1000) * 1000;
  const now = Math.floor(o.now / 1000) * 1000;
  while (s < now) {
    const e = Math.min(s + max, now);
    out.push({ start: s, end: e });
    s = e;
  }
  return out;
}

/** Sort listing entries the way the cursor walks them. */
export function compareRefs(a: ContentRef, b: ContentRef): number {
  const ta = Date.parse(a.contentCreated);
  const tb = Date.parse(b.contentCreated);
  if (ta !== tb) return ta - tb;
  return a.contentId < b.contentId ? -1 : a.contentId > b.contentId ? 1 : 0;
}

/**
 * Whether a listing entry can be used: an object with string contentId and contentUri and a parseable
 * contentCreated. Anything else can't be fetched nor placed under the cursor (and `null` would throw).
 */
export function isContentRef(r: unknown): r is ContentRef {
  if (r === null || typeof r !== 'object' || Array.isArray(r)) return false;
  const o = r as Record<string, unknown>;
  return (
    typeof o.contentId === 'string' &&
    o.contentId !== '' &&
    typeof o.contentUri === 'string' &&
    typeof o.contentCreated === 'string' &&
    // Strict: Date.parse takes "99999" (the year 99999), which would become the cursor.
    parseApiTime(o.contentCreated) !== undefined
  );
}

/** Drop entries listed twice in one listing (the API does that), keeping the first. */
export function uniqueRefs(refs: ContentRef[]): ContentRef[] {
  const seen = new Set<string>();
  const out: ContentRef[] = [];
  for (const r of refs) {
    if (seen.has(r.contentId)) continue;
    seen.add(r.contentId);
    out.push(r);
  }
  return out;
}

/**
 * Vector's ordered finalizer for one window: blobs finish in any order, the cursor advances only
 * over the contiguous finished prefix. When the whole window is finished the cursor jumps to the
 * window's end, so empty stretches are not listed again and again.
 */
export class WindowFinalizer {
  private readonly done: boolean[];
  private next = 0;
  private state: CursorState;

  constructor(
    private readonly refs: readonly ContentRef[], // sorted with compareRefs
    private readonly window: Window,
    start: CursorState,
  ) {
    this.done = new Array<boolean>(refs.length).fill(false);
    this.state = { cursor: start.cursor, doneAtCursor: [...start.doneAtCursor] };
  }

  /** Mark blob i finished; returns the new cursor state when it moved, else null. */
  finish(i: number): CursorState | null {
    this.done[i] = true;
    return this.advance();
  }

  /**
   * Blob i failed. If it lies below the cursor (late content found by the trailing re-list, or any blob
   * while the cursor is still null), the cursor must come back: otherwise, once the trailing window
   * slides past, it would never be listed again. It comes back to the earliest blob not finished yet,
   * which may be one before i still in flight: the cursor claims everything below it is finished.
   * Blobs done above it stay in `recent` and are not fetched twice.
   */
  fail(i: number): CursorState | null {
    const ref = this.refs[i];
    const t = Date.parse(ref.contentCreated);
    const cur = this.state.cursor === null ? Infinity : Date.parse(this.state.cursor);
    if (t > cur || (t === cur && !this.state.doneAtCursor.includes(ref.contentId))) return null;
    const first = this.refs[Math.min(this.next, i)];
    const doneAt: string[] = [];
    for (let j = 0; j < this.next; j++) if (this.refs[j].contentCreated === first.contentCreated) doneAt.push(this.refs[j].contentId);
    this.state = { cursor: first.contentCreated, doneAtCursor: doneAt };
    return this.current();
  }

  get complete(): boolean {
    return this.next >= this.refs.length;
  }

  current(): CursorState {
    return { cursor: this.state.cursor, doneAtCursor: [...this.state.doneAtCursor] };
  }

  /** Called when every blob is finished: the cursor may move to the window's end. */
  closeWindow(): CursorState | null {
    if (!this.complete) return null;
    const endIso = new Date(this.window.end).toISOString();
    const cur = this.state.cursor === null ? -Infinity : Date.parse(this.state.cursor);
    if (this.window.end <= cur) return null; // never move backwards (a trailing re-list)
    this.state = { cursor: endIso, doneAtCursor: [] };
    return this.current();
  }

  private advance(): CursorState | null {
    let moved = false;
    while (this.next < this.refs.length && this.done[this.next]) {
      const ref = this.refs[this.next];
      this.next++;
      const t = Date.parse(ref.contentCreated);
      const cur = this.state.cursor === null ? -Infinity : Date.parse(this.state.cursor);
      if (t > cur) {
        this.state = { cursor: ref.contentCreated, doneAtCursor: [ref.contentId] };
        moved = true;
      } else if (t === cur) {
        if (!this.state.doneAtCursor.includes(ref.contentId)) this.state.doneAtCursor.push(ref.contentId);
        moved = true;
      }
      // t < cur: late content below the cursor (trailing re-list); it goes into `recent`, the cursor stays.
    }
    return moved ? this.current() : null;
  }
}
