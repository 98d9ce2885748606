/**
 * Listing windows: ≤ 24 h long and starting no more than 7 days back, with a safety margin
 * because a request that starts exactly 7 days back fails by the time it arrives (and later
 * pages of the same listing arrive later still). Times are whole seconds: the API's formats
 * stop at seconds.
 */
export const MAX_WINDOW_MS = 24 * 60 * 60_000;
export const MAX_AGE_MS = 7 * 24 * 60 * 60_000;
/**
 * Kept between the 7-day limit and the earliest start we send: request latency only (a server clock
 * running ahead is corrected for separately, see estimateSkew). Content listed in the margin expires
 * within it, so a larger one would only skip blobs the API still holds.
 */
export const WINDOW_SAFETY_MARGIN_MS = 2 * 60_000;

const SEC = 1000;
const floorSec = (t: number) => Math.floor(t / SEC) * SEC;
const ceilSec = (t: number) => Math.ceil(t / SEC) * SEC;

/** The earliest start the API will accept at `now` (ms), margin included, on a whole second. */
export function earliestStart(now: number, marginMs: number = WINDOW_SAFETY_MARGIN_MS): number {
  return ceilSec(now - MAX_AGE_MS + marginMs);
}

export interface ClampedWindow {
  start: Date;
  end: Date;
  /** True when the start was moved forward (content between the asked and the given start is past reach). */
  startClamped: boolean;
  /** True when the end was pulled in to keep the window ≤ 24 h. */
  endClamped: boolean;
}

/**
 * Clamps [start, end) to what the API accepts at `now`. Returns null when nothing is left (the
 * whole window is older than the limit, or start ≥ end). Use the returned `end` as the next
 * window's start: windows chained that way neither overlap nor leave gaps.
 */
export function clampWindow(start: Date | number, end: Date | number, now: Date | number, marginMs: number = WINDOW_SAFETY_MARGIN_MS): ClampedWindow | null {
  const s0 = +start;
  const e0 = +end;
  const n = +now;
  if (!Number.isFinite(s0) || !Number.isFinite(e0) || !Number.isFinite(n)) return null;
  const lower = earliestStart(n, marginMs);
  const startClamped = floorSec(s0) < lower;
  const s = startClamped ? lower : floorSec(s0);
  let e = ceilSec(e0);
  let endClamped = false;
  if (e - s > MAX_WINDOW_MS) {
    e = s + MAX_WINDOW_MS;
    endClamped = true;
  }
  if (e <= s) return null;
  return { start: new Date(s), end: new Date(e), startClamped, endClamped };
}

/** `YYYY-MM-DDTHH:MM:SS` (UTC), one of the formats the API documents. */
export function formatApiTime(t: Date | number): string {
  return new Date(+t).toISOString().slice(0, 19);
}

/** Parses an API time (`YYYY-MM-DD[THH:MM[:SS[.fff]]][Z]`, UTC when no zone) → ms, or undefined. */
export function parseApiTime(s: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/i.exec(s.trim());
  if (!m) return undefined;
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4] ?? '00'}:${m[5] ?? '00'}:${m[6] ?? '00'}${m[7] ? '.' + m[7].slice(0, 3).padEnd(3, '0') : ''}${m[8] ?? 'Z'}`;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
}

/** The server's clock is trusted to differ from ours by at most this much; a larger measured skew is capped (and warned about). */
export const MAX_SKEW_CORRECTION_MS = 30 * 60_000;
/** Skew samples kept (one per answer with a `Date` header); the estimate needs at least MIN_SKEW_SAMPLES. */
export const SKEW_SAMPLES = 9;
export const MIN_SKEW_SAMPLES = 3;

/**
 * Server-minus-local clock difference estimated from several answers' `Date` headers: the median
 * (one odd answer moves nothing), 0 until MIN_SKEW_SAMPLES answers were seen, and never beyond
 * ±MAX_SKEW_CORRECTION_MS (a server claiming to be days ahead must not push every window past reach).
 */
export function estimateSkew(samples: readonly number[], bound: number = MAX_SKEW_CORRECTION_MS): { skewMs: number; measuredMs: number; capped: boolean } {
  const ok = samples.filter((x) => Number.isFinite(x));
  if (ok.length < MIN_SKEW_SAMPLES) return { skewMs: 0, measuredMs: 0, capped: false };
  const s = [...ok].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const measuredMs = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  const skewMs = Math.max(-bound, Math.min(bound, measuredMs));
  return { skewMs, measuredMs, capped: skewMs !== measuredMs };
}

/** A listing entry's contentCreated this far after the end of the window it was listed in (plus the server's measured lead) is refused. */
export const MAX_FUTURE_CONTENT_MS = 10 * 60_000;
/** Longer content ids are refused: they would bloat the checkpoint (ids are ~100 characters). */
export const MAX_CONTENT_ID_CHARS = 1024;

/**
 * Why a listing entry's identity or time can't be trusted, or undefined when it can. Only for entries
 * that look like content references (a string contentId); other junk is the poller's to count.
 * `contentCreated` must be an API time (strict: `"99999"` is not one) no later than `latest` (the
 * listed window's end) + MAX_FUTURE_CONTENT_MS: one such entry would otherwise become the cursor and
 * skip everything between.
 */
export function entryTimeProblem(contentCreated: unknown, contentId: string, latest: number): string | undefined {
  if (contentId.length > MAX_CONTENT_ID_CHARS) return `contentId is ${contentId.length} characters (over ${MAX_CONTENT_ID_CHARS})`;
  if (typeof contentCreated !== 'string') return 'contentCreated is not a string';
  const t = contentCreated.length <= 40 ? parseApiTime(contentCreated) : undefined;
  if (t === undefined) return `contentCreated ${JSON.stringify(contentCreated.slice(0, 40))} is not a date-time`;
  if (t > latest + MAX_FUTURE_CONTENT_MS) return `contentCreated ${contentCreated} is in the future (after the listed window, ending ${new Date(latest).toISOString()})`;
  return undefined;
}
