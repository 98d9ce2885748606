/**
 * The "unified audit logging may be off" heuristic as a pure decision over an injected clock.
 *
 * It fires only when a full 24 h of real time has passed with nothing listed in any window of any
 * content type of the tenant since content was last seen (or, before any, since the process
 * started). Adding up listed window lengths was wrong: trailing windows overlap, so eight empty
 * 180-minute re-lists "made" 24 h in minutes, and one quiet content type (DLP.All without DLP
 * policies) is normal while another delivers.
 */
export const QUIET_WARN_MS = 24 * 3_600_000;

export interface QuietFeed {
  /** Real time content was last listed, or when watching began (ms). */
  since: number;
  /** Warned already for this quiet stretch. */
  warned: boolean;
}

/** `lastContentSeenAt`: when content was last seen before this process (persisted), if known. */
export function quietFeedStart(now: number, lastContentSeenAt?: number): QuietFeed {
  return { since: lastContentSeenAt !== undefined && lastContentSeenAt <= now ? lastContentSeenAt : now, warned: false };
}

/** One listing finished with `items` entries: the next state, and whether to warn now (once per quiet stretch). */
export function noteListed(s: QuietFeed, now: number, items: number): { state: QuietFeed; warn: boolean } {
  if (items > 0) return { state: { since: now, warned: false }, warn: false };
  const warn = !s.warned && now - s.since >= QUIET_WARN_MS;
  return { state: warn ? { since: s.since, warned: true } : s, warn };
}
