/**
 * Structured JSON-lines logger. One line per event of note; never per record.
 * Fields are plain data; `redactSecrets` is applied to every line as a last line of defence,
 * but callers must not pass secrets in the first place.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: Level;
  /** Where lines go; default process.stderr (stdout may carry events in the stdout sink). */
  write?: (line: string) => void;
  /** Values that must never appear in output (secrets, tokens); replaced by "[REDACTED]". */
  secrets?: Set<string>;
  base?: Record<string, unknown>;
  pretty?: boolean;
}

const globalSecrets = new Set<string>();
/** Short-lived values (access tokens): the newest are kept, so a long run doesn't grow this set. */
const ephemeralSecrets = new Set<string>();
const MAX_EPHEMERAL = 512;

/**
 * Register a value that must never be printed by any logger: a secret (kept for the process's life)
 * or, with `ephemeral`, a renewable one such as an access token (only the newest 512 are kept;
 * expired tokens are useless to a reader of the logs anyway, and bearer/JWT shapes are masked below).
 */
export function registerSecret(value: string | undefined, opts: { ephemeral?: boolean } = {}): void {
  if (!value || value.length < 6) return;
  if (!opts.ephemeral) {
    globalSecrets.add(value);
    return;
  }
  ephemeralSecrets.add(value);
  if (ephemeralSecrets.size > MAX_EPHEMERAL) ephemeralSecrets.delete(ephemeralSecrets.values().next().value as string);
}

export function redactSecrets(line: string, extra?: Set<string>): string {
  let out = line;
  for (const s of globalSecrets) if (out.includes(s)) out = out.split(s).join('[REDACTED]');
  for (const s of ephemeralSecrets) if (out.includes(s)) out = out.split(s).join('[REDACTED]');
  if (extra) for (const s of extra) if (s && out.includes(s)) out = out.split(s).join('[REDACTED]');
  // Bearer tokens and JWT-looking strings never belong in a log line.
  out = out.replace(/Bearer\s+[A-Za-z0-9._~+/=-]+/g, 'Bearer [REDACTED]');
  out = out.replace(/eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, '[REDACTED-JWT]');
  return out;
}

/** C0 and C1 controls, DEL, line/paragraph separators and bidi overrides: what can forge a line or drive a terminal. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const UNSAFE_G = new RegExp(UNSAFE.source, 'g');

/** Escapes what a terminal must not see raw, as JSON does for C0 controls (and \uXXXX for the rest). */
export function escapeForTerminal(s: string): string {
  if (!UNSAFE.test(s)) return s;
  return s.replace(UNSAFE_G, (c) => {
    const j = JSON.stringify(c);
    return j.length === 4 || j.startsWith('"\\u') ? j.slice(1, -1) : '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0');
  });
}

function errorFields(v: unknown): unknown {
  if (v instanceof Error) {
    const o: Record<string, unknown> = { message: v.message };
    const anyErr = v as unknown as Record<string, unknown>;
    if (anyErr.code !== undefined) o.code = anyErr.code;
    if (anyErr.details !== undefined) Object.assign(o, anyErr.details as object);
    return o;
  }
  return v;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const min = ORDER[opts.level ?? 'info'];
  const write = opts.write ?? ((l: string) => process.stderr.write(l + '\n'));
  const base = opts.base ?? {};
  const make = (bound: Record<string, unknown>): Logger => {
    const emit = (level: Level, msg: string, fields?: Record<string, unknown>) => {
      if (ORDER[level] < min) return;
      const rec: Record<string, unknown> = { time: new Date().toISOString(), level, msg, ...bound };
      if (fields) for (const [k, v] of Object.entries(fields)) rec[k] = errorFields(v);
      let line: string;
      if (opts.pretty) {
        const { time, level: lv, msg: m, ...rest } = rec;
        // Values come from the API and records (a content id with a newline and ANSI escapes): escaped, never raw.
        const extras = Object.entries(rest)
          .map(([k, v]) => `${escapeForTerminal(k)}=${escapeForTerminal(typeof v === 'string' ? v : String(JSON.stringify(v)))}`)
          .join(' ');
        line = `${String(time).slice(11, 19)} ${String(lv).toUpperCase().padEnd(5)} ${escapeForTerminal(String(m))}${extras ? '  ' + extras : ''}`;
      } else {
        line = JSON.stringify(rec);
        // JSON leaves DEL, C1 controls and U+2028/2029 raw; a terminal tailing the log must not see them either.
        if (UNSAFE.test(line)) line = escapeForTerminal(line);
      }
      write(redactSecrets(line, opts.secrets));
    };
    return {
      debug: (m, f) => emit('debug', m, f),
      info: (m, f) => emit('info', m, f),
      warn: (m, f) => emit('warn', m, f),
      error: (m, f) => emit('error', m, f),
      child: (f) => make({ ...bound, ...f }),
    };
  };
  return make(base);
}

/** A logger that records lines in memory: for tests that assert what was (not) logged. */
export function memoryLogger(level: Level = 'debug'): Logger & { lines: string[] } {
  const lines: string[] = [];
  const l = createLogger({ level, write: (x) => lines.push(x) });
  return Object.assign(l, { lines });
}

export const silentLogger: Logger = createLogger({ level: 'silent' });
