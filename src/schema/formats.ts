/**
 * Custom string formats used by schemas/ (see schemas/defs/scalars.schema.json). They run several
 * times per record, so the hot ones are hand-written character scans (no Date objects, no regex
 * match arrays) and every check rejects over-long input first (hostile 10 MB strings).
 */
import type Ajv from 'ajv';
import { fullFormats } from 'ajv-formats/dist/formats';

const DAYS = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The digit at s[i] as a number, or -1. (Shared with shape/event.ts, which parses the same timestamps.) */
export function digit(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

/** Two digits at s[i..i+1] as a number, or -1. */
export function two(s: string, i: number): number {
  const a = digit(s, i);
  const b = digit(s, i + 1);
  return a < 0 || b < 0 ? -1 : a * 10 + b;
}

/**
 * The API's timestamp format ('2015-06-29T20:03:19', meaning UTC): YYYY-MM-DDTHH:MM:SS, optional
 * fraction (.NET writes up to 7 digits), optional Z, no numeric offset, a real calendar date.
 */
export function isAuditDateTime(s: string): boolean {
  const n = s.length;
  if (n < 19 || n > 28) return false;
  const y1 = two(s, 0);
  const y2 = two(s, 2);
  const month = two(s, 5);
  const day = two(s, 8);
  const hour = two(s, 11);
  const min = two(s, 14);
  const sec = two(s, 17);
  if (y1 < 0 || y2 < 0 || month < 1 || month > 12 || day < 1 || day > DAYS[month]) return false;
  if (hour < 0 || hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 59) return false;
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return false; // - - T : :
  let i = 19;
  if (i < n && s.charCodeAt(i) === 46 /* . */) {
    const from = ++i;
    while (i < n && digit(s, i) >= 0) i++;
    if (i === from || i - from > 7) return false;
  }
  if (i < n && s.charCodeAt(i) === 90 /* Z */) i++;
  if (i !== n) return false;
  if (month === 2 && day === 29) {
    const year = y1 * 100 + y2;
    return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  }
  return true;
}

/** 1 for the ASCII hex digits, by char code (an index past the end reads undefined, which `&` makes 0). */
const HEX = new Uint8Array(128);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;

/**
 * Edm.Guid as the API writes it: 8-4-4-4-12 hex digits, no braces or urn prefix, any version.
 * Table lookups without a branch per character: this runs twice per record (Id, OrganizationId)
 * and was the largest single cost of validating a valid record.
 */
export function isGuid(s: string): boolean {
  if (s.length !== 36) return false;
  if (s.charCodeAt(8) !== 45 || s.charCodeAt(13) !== 45 || s.charCodeAt(18) !== 45 || s.charCodeAt(23) !== 45) return false;
  let ok = 1;
  for (let i = 0; i < 8; i++) ok &= HEX[s.charCodeAt(i)];
  for (let i = 9; i < 13; i++) ok &= HEX[s.charCodeAt(i)];
  for (let i = 14; i < 18; i++) ok &= HEX[s.charCodeAt(i)];
  for (let i = 19; i < 23; i++) ok &= HEX[s.charCodeAt(i)];
  for (let i = 24; i < 36; i++) ok &= HEX[s.charCodeAt(i)];
  return ok === 1;
}

const ipv4 = fullFormats.ipv4 as RegExp;
const ipv6 = fullFormats.ipv6 as RegExp;

/** Results of the IPv6 regex, by address; cleared when full, so it holds at most this many short strings. */
const V6_CACHE_MAX = 1024;
const v6Cache = new Map<string, boolean>();

/**
 * ajv-formats' ipv6 regex, remembered: it costs ~0.4 µs per address (its alternatives backtrack),
 * and ClientIP / SenderIp values repeat (a tenant's users, its mail gateways), so most are a Map
 * hit. A pure function of the string, so remembering changes no answer.
 */
export function isIpv6(s: string): boolean {
  let r = v6Cache.get(s);
  if (r === undefined) {
    r = ipv6.test(s);
    if (v6Cache.size >= V6_CACHE_MAX) v6Cache.clear();
    v6Cache.set(s, r);
  }
  return r;
}

/** A bare IPv4 or IPv6 address. */
export function isIpAddress(s: string): boolean {
  if (s.length > 45) return false;
  return ipv4.test(s) || isIpv6(s);
}

const PORT = /^\d{1,5}$/;

/**
 * ClientIP as records carry it: an address, an address with a port ('1.2.3.4:63070',
 * '[2001:db8::1]:443'), '' or '<null>' (how some workloads write "no address").
 */
export function isClientIp(s: string): boolean {
  if (s === '' || s === '<null>') return true;
  if (s.length > 53) return false;
  if (isIpAddress(s)) return true;
  if (s.charCodeAt(0) === 0x5b /* [ */) {
    const close = s.indexOf(']');
    if (close < 0) return false;
    const rest = s.slice(close + 1);
    return isIpv6(s.slice(1, close)) && (rest === '' || (rest[0] === ':' && PORT.test(rest.slice(1))));
  }
  const colon = s.lastIndexOf(':');
  return colon > 0 && s.indexOf(':') === colon && ipv4.test(s.slice(0, colon)) && PORT.test(s.slice(colon + 1));
}

/** The custom formats by name (all apply to strings only; other types pass, as in ajv). */
export const RECORD_FORMATS: Readonly<Record<string, (s: string) => boolean>> = Object.freeze({
  guid: isGuid,
  'audit-datetime': isAuditDateTime,
  'ip-address': isIpAddress,
  'client-ip': isClientIp,
});

export function addRecordFormats(ajv: Ajv): void {
  for (const [name, validate] of Object.entries(RECORD_FORMATS)) ajv.addFormat(name, { type: 'string', validate });
}
