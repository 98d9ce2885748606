/** Time formats the Management Activity API uses, and the ones it accepts. */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
export const RETENTION_MS = 7 * DAY_MS;
export const MAX_WINDOW_MS = DAY_MS;

const TWO: string[] = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
let cachedDay = NaN;
let cachedDayPrefix = '';

/**
 * Audit-record time fields (`CreationTime`, `MessageTime`...): UTC, no zone suffix, no fraction.
 * Called once or more per record, so the date part is cached per day instead of toISOString().
 */
export function recordTime(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  if (day !== cachedDay) {
    cachedDay = day;
    cachedDayPrefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
  }
  const s = Math.floor((ms - day * DAY_MS) / 1000);
  return cachedDayPrefix + TWO[Math.floor(s / 3600)] + ':' + TWO[Math.floor(s / 60) % 60] + ':' + TWO[s % 60];
}

/** Listing time fields (`contentCreated`, `contentExpiration`): always `.000Z` (whole seconds). */
export function listingTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString();
}

/** AIR-internal timestamps carry 7-digit fractions and `Z` (`2024-10-31T15:28:45.1030022Z`). */
export function dotNetTime(ms: number, extraTicks: number): string {
  const iso = new Date(ms).toISOString(); // 2024-10-31T15:28:45.103Z
  return iso.slice(0, 23) + String(extraTicks % 10000).padStart(4, '0') + 'Z';
}

/** US-locale rendering seen inside AIR mail-cluster entities (`10/31/2024 1:31:54 PM`). */
export function usLocaleTime(ms: number): string {
  const d = new Date(ms);
  const h = d.getUTCHours();
  const h12 = h % 12 === 0 ? 12 : h % 12;
  const mm = String(d.getUTCMinutes()).padStart(2, '0');
  const ss = String(d.getUTCSeconds()).padStart(2, '0');
  return `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()} ${h12}:${mm}:${ss} ${h < 12 ? 'AM' : 'PM'}`;
}

/** yyyyMMddHH of an hour slot (used inside content ids and page tokens, as the real ones do). */
export function hourStamp(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13);
}

/** `YYYY-MM-DDTHH:MM:SS`, the form the emulator writes into NextPageUri when it had to choose. */
export function queryTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

/**
 * Parses a `startTime`/`endTime` query value. The reference documents `YYYY-MM-DD`,
 * `YYYY-MM-DDTHH:MM` and `YYYY-MM-DDTHH:MM:SS` (UTC); the service is .NET and also takes a trailing
 * fraction and/or `Z`, which real clients send, so those are accepted too. Anything else
 * (offsets, slashes, epoch numbers, impossible dates) is rejected. Returns ms or null.
 */
export function parseQueryTime(value: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?Z?)?$/.exec(value);
  if (!m) return null;
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = ''] = m;
  const ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s, frac ? Math.floor(Number('0.' + frac) * 1000) : 0);
  if (Number.isNaN(ms)) return null;
  // Reject roll-overs such as 2024-02-30 or 25:00.
  const back = new Date(ms);
  if (back.getUTCFullYear() !== +y || back.getUTCMonth() !== +mo - 1 || back.getUTCDate() !== +d) return null;
  if (back.getUTCHours() !== +h || back.getUTCMinutes() !== +mi || back.getUTCSeconds() !== +s) return null;
  return ms;
}

/** `2024-05-24 06:29:22Z`, the form Azure AD uses in error `timestamp` fields. */
export function aadTimestamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ') + 'Z';
}
