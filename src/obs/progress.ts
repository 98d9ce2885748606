/**
 * Catch-up progress. On a TTY: one line per tenant (windows done / total, records/s, ETA) redrawn in place
 * on stderr. Otherwise: nothing on the stream at all, only a periodic structured log line per tenant that
 * moved since the last one, so journald / container logs get a heartbeat without terminal escapes.
 */
import type { Logger } from './log';

export interface ProgressOptions {
  /** Where the TTY lines go. Default process.stderr (stdout may carry events). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Default: `stream.isTTY`. */
  isTTY?: boolean;
  /** Receives the periodic lines when not a TTY. */
  logger: Logger;
  /** Redraw (TTY) or log (not a TTY) period. Default 500 ms on a TTY, 30 s otherwise. */
  intervalMs?: number;
  /** Injected clock (ms since epoch), for tests. */
  now?: () => number;
}

export interface Progress {
  /** The number of windows this (tenant, content type) has to do in the current catch-up; resets its done count. */
  setPlan(tenant: string, contentType: string, windowsTotal: number): void;
  windowDone(tenant: string, contentType: string): void;
  /** Add records delivered for a tenant (call per blob or batch, not per record). */
  records(tenant: string, n: number): void;
  /**
   * Writes a line (e.g. a log line) to the stream above the progress block and redraws the block below
   * it, so log output and progress don't garble each other on a terminal. Use it as the logger's `write`
   * when progress is on a TTY; elsewhere it just writes the line.
   */
  writeAbove(line: string): void;
  /** Final redraw / log line and stop the timer. Idempotent. */
  stop(): void;
}

interface TenantState {
  plans: Map<string, { total: number; done: number }>;
  records: number;
  startedAt: number;
  /** For records/s: an exponentially smoothed rate over redraw ticks. */
  lastTickAt: number;
  lastTickRecords: number;
  rate: number;
  /** Something changed since the last log line (non-TTY). */
  dirty: boolean;
}

export interface TenantProgress {
  tenant: string;
  windowsDone: number;
  windowsTotal: number;
  records: number;
  recordsPerSec: number;
  /** Seconds to go at the current window pace; null until a window is done or when nothing is planned. */
  etaSeconds: number | null;
}

export function createProgress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  const tty = opts.isTTY ?? Boolean(stream.isTTY);
  const now = opts.now ?? Date.now;
  const intervalMs = Math.max(50, opts.intervalMs ?? (tty ? 500 : 30_000));
  const tenants = new Map<string, TenantState>();
  let drawnLines = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const state = (tenant: string): TenantState => {
    let s = tenants.get(tenant);
    if (!s) {
      const t = now();
      s = { plans: new Map(), records: 0, startedAt: t, lastTickAt: t, lastTickRecords: 0, rate: 0, dirty: true };
      tenants.set(tenant, s);
    }
    return s;
  };

  const ensureTimer = () => {
    if (timer || stopped) return;
    timer = setInterval(tick, intervalMs);
    timer.unref(); // progress must never keep the process alive
  };

  const updateRates = (t: number) => {
    for (const s of tenants.values()) {
      const dt = (t - s.lastTickAt) / 1000;
      if (dt <= 0) continue;
      const inst = (s.records - s.lastTickRecords) / dt;
      // First tick takes the instant rate; later ones smooth so the figure doesn't flicker.
      s.rate = s.lastTickRecords === 0 && s.rate === 0 ? inst : 0.7 * s.rate + 0.3 * inst;
      s.lastTickAt = t;
      s.lastTickRecords = s.records;
    }
  };

  const snapshot = (tenant: string, s: TenantState, t: number): TenantProgress => {
    let done = 0;
    let total = 0;
    for (const p of s.plans.values()) {
      done += Math.min(p.done, p.total);
      total += p.total;
    }
    const elapsed = (t - s.startedAt) / 1000;
    const eta = total === 0 ? null : done >= total ? 0 : done === 0 || elapsed <= 0 ? null : (elapsed / done) * (total - done);
    return { tenant, windowsDone: done, windowsTotal: total, records: s.records, recordsPerSec: Math.round(s.rate * 10) / 10, etaSeconds: eta === null ? null : Math.round(eta) };
  };

  const draw = (t: number) => {
    const cols = stream.columns && stream.columns > 20 ? stream.columns - 1 : 0;
    let out = drawnLines > 0 ? `\x1b[${drawnLines}A` : '';
    let n = 0;
    for (const [tenant, s] of tenants) {
      let line = formatLine(snapshot(tenant, s, t));
      if (cols && line.length > cols) line = line.slice(0, cols);
      out += `\r\x1b[2K${line}\n`;
      n++;
    }
    if (n === 0) return;
    drawnLines = n;
    stream.write(out);
  };

  const logLines = (t: number, force: boolean) => {
    for (const [tenant, s] of tenants) {
      if (!s.dirty && !force) continue;
      s.dirty = false;
      const p = snapshot(tenant, s, t);
      opts.logger.info('progress', { ...p });
    }
  };

  function tick(): void {
    const t = now();
    updateRates(t);
    if (tty) draw(t);
    else logLines(t, false);
  }

  return {
    setPlan(tenant, contentType, windowsTotal) {
      if (stopped) return;
      const s = state(tenant);
      s.plans.set(contentType, { total: Math.max(0, Math.floor(windowsTotal)), done: 0 });
      s.dirty = true;
      ensureTimer();
    },
    windowDone(tenant, contentType) {
      if (stopped) return;
      const s = state(tenant);
      const p = s.plans.get(contentType);
      if (p) p.done++;
      else s.plans.set(contentType, { total: 1, done: 1 }); // a window nobody planned still counts as done
      s.dirty = true;
      ensureTimer();
    },
    records(tenant, n) {
      if (stopped || !(n > 0)) return;
      const s = state(tenant);
      s.records += n;
      s.dirty = true;
      ensureTimer();
    },
    writeAbove(line) {
      if (!tty || drawnLines === 0) {
        stream.write(line.endsWith('\n') ? line : line + '\n');
        return;
      }
      // Up over the block, clear to the end of the screen, the line, then the block again.
      stream.write(`\x1b[${drawnLines}A\r\x1b[J${line}${line.endsWith('\n') ? '' : '\n'}`);
      drawnLines = 0;
      if (!stopped) draw(now());
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      const t = now();
      updateRates(t);
      if (tty) draw(t);
      else logLines(t, false);
    },
  };
}

export function formatLine(p: TenantProgress): string {
  const pct = p.windowsTotal > 0 ? Math.floor((100 * p.windowsDone) / p.windowsTotal) : 0;
  const eta = p.etaSeconds === null ? '?' : formatDuration(p.etaSeconds);
  return `${p.tenant}  windows ${p.windowsDone}/${p.windowsTotal} (${pct}%)  ${p.records} records  ${p.recordsPerSec}/s  ETA ${eta}`;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}
