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
  if (s[4] !== '-' || s[7] !== '-' || s[10] !== 'T' || s[13] !== ':' || s[16] !== ':') return false;
  let i = 19;
  if (i < n && s[i] === '.') {
    const from = ++i;
    while (i < n && digit(s, i) >= 0) i++;
    if (i === from || i - from > 7) return false;
  }
  if (i < n && s[i] === 'Z') i++;
  if (i !== n) return false;
  if (month === 2 && day === 29) {
    const year = y1 * 100 + y2;
    return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  }
  return true;
}

/** Edm.Guid as the API writes it: 8-4-4-4-12 hex digits, no braces or urn prefix, any version. */
export function isGuid(s: string): boolean {
  if (s.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = s.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45 /* - */) return false;
    } else if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102))) {
      return false;
    }
  }
  return true;
}

const ipv4 = fullFormats.ipv4 as RegExp;
const ipv6 = fullFormats.ipv6 as RegExp;

/** A bare IPv4 or IPv6 address. */
export function isIpAddress(s: string): boolean {
  if (s.length > 45) return false;
  return ipv4.test(s) || ipv6.test(s);
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
    return ipv6.test(s.slice(1, close)) && (rest === '' || (rest[0] === ':' && PORT.test(rest.slice(1))));
  }
  const colon = s.lastIndexOf(':');
  return colon > 0 && s.indexOf(':') === colon && ipv4.test(s.slice(0, colon)) && PORT.test(s.slice(colon + 1));
}

export function addRecordFormats(ajv: Ajv): void {
  ajv.addFormat('guid', { type: 'string', validate: isGuid });
  ajv.addFormat('audit-datetime', { type: 'string', validate: isAuditDateTime });
  ajv.addFormat('ip-address', { type: 'string', validate: isIpAddress });
  ajv.addFormat('client-ip', { type: 'string', validate: isClientIp });
}
