/**
 * Client and server address strings as Elastic's o365 pipeline reads them (its gsub + grok chain):
 * `1.2.3.4`, `[::1]:443`, `1.2.3.4:5678`, `::ffff:1.2.3.4`, `host (1.2.3.4)`, `[host (1.2.3.4)]`, `host:443`,
 * anything else taken whole as the address. `ip` is set only when the address is a valid IP
 * (Elastic's `convert type: ip` with ignore_failure).
 */
import { isIP } from 'node:net';

export interface Address {
  address?: string;
  domain?: string;
  port?: number;
  ip?: string;
}

const MAPPED_V4 = /^\[?::ffff:([0-9]+\.[0-9]+\.[0-9]+\.[0-9]+)(?:\](:[0-9]+)?)?$/;
const BRACKET_IP_PORT = /^\[([^\]]+)\]:([0-9]+)/;
const BRACKET_IP = /^\[([^\]]+)\]$/;
const IP_PORT = /^([^\s:]+):([0-9]+)/;
const HOST_AND_IP = /^(\S+) \(([^)]*)\)$/;
const BRACKET_HOST_AND_IP = /^\[(\S+) \(([^)]*)\)\]$/;
const NOSPACE = /^\S+$/;

function port(s: string): number | undefined {
  const n = Number(s);
  return n > 0 && n <= 0x7fffffff ? n : undefined; // grok POSINT: a positive integer
}

/** Parses a client address; returns undefined for an empty or non-string value (Elastic skips those). */
export function parseClientAddress(raw: unknown): Address | undefined {
  if (typeof raw !== 'string' || raw.length === 0) return undefined;
  let s = raw;
  const m4 = MAPPED_V4.exec(s);
  if (m4) s = m4[1] + (m4[2] ?? '');
  const out: Address = {};
  let m: RegExpExecArray | null;
  if ((m = BRACKET_IP_PORT.exec(s)) && isIP(m[1])) {
    out.address = m[1];
    out.port = port(m[2]);
  } else if (isIP(s)) {
    out.address = s;
  } else if ((m = BRACKET_IP.exec(s)) && isIP(m[1])) {
    out.address = m[1];
  } else if ((m = IP_PORT.exec(s)) && isIP(m[1])) {
    out.address = m[1];
    out.port = port(m[2]);
  } else if (NOSPACE.test(s)) {
    // Elastic's `^%{NOTSPACE:client.domain}$` comes before the host:port patterns, so it takes those too.
    out.domain = s;
  } else if ((m = BRACKET_HOST_AND_IP.exec(s)) || (m = HOST_AND_IP.exec(s))) {
    out.domain = m[1];
    out.address = m[2];
  } else {
    out.address = s;
  }
  if (out.address !== undefined && isIP(out.address)) out.ip = out.address;
  return out;
}

/** OriginatingServer: `HOST (1.2.3.4)` with line breaks removed, or the whole value as the address. */
export function parseServerAddress(raw: unknown): Address | undefined {
  if (typeof raw !== 'string') return undefined;
  const s = raw.replace(/[\n\r]/g, '');
  if (s.length === 0) return undefined;
  const m = BRACKET_HOST_AND_IP.exec(s) ?? /(\S+) \(([^)]*)\)/.exec(s);
  const out: Address = m ? { domain: m[1], address: m[2] } : { address: s };
  if (out.address !== undefined && isIP(out.address)) out.ip = out.address;
  return out;
}
