/**
 * Custom string formats used by schemas/ (see schemas/defs/scalars.schema.json). Each check is a
 * single anchored regex plus arithmetic: no Date objects, cheap on the per-record hot path, and
 * linear (no backtracking) on hostile 10 MB strings.
 */
import type Ajv from 'ajv';
import { fullFormats } from 'ajv-formats/dist/formats';

// YYYY-MM-DDTHH:MM:SS, optional fraction (.NET writes up to 7 digits), optional Z; no numeric offset.
const AUDIT_DATETIME = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(?:\.\d{1,7})?Z?$/;
const DAYS = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The API's timestamp format ('2015-06-29T20:03:19', meaning UTC), with a real calendar date. */
export function isAuditDateTime(s: string): boolean {
  if (s.length > 32) return false;
  const m = AUDIT_DATETIME.exec(s);
  if (m === null) return false;
  const year = +m[1];
  const month = +m[2];
  const day = +m[3];
  if (month < 1 || month > 12 || day < 1 || day > DAYS[month]) return false;
  if (month === 2 && day === 29) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return true;
}

const GUID = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;

/** Edm.Guid as the API writes it: 8-4-4-4-12 hex digits, no braces or urn prefix, any version. */
export function isGuid(s: string): boolean {
  return s.length === 36 && GUID.test(s);
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
