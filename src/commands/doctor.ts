/**
 * `doctor --config FILE` (also `check-config --probe FILE`): checks a config against the real
 * services before it runs. Per tenant: a token (and its roles), the subscription list, one small
 * listing per enabled content type, the clock against the API's; for the sink: a TCP connection,
 * the TLS and shared-key handshake, and one acknowledged test event to `<tagPrefix>.bridge.probe`
 * (a tag the Fluentd side can drop). One line per check, ✔ or ✖; a ✖ carries the error code and
 * the fix from the README's troubleshooting table. Nothing is started, stopped or checkpointed.
 *
 * Exit: 0 only when every check passed; else the same classes as `run --once` (3 a tenant, 4 the
 * receiver, 5 transient), 2 for a config that can't be used.
 */
import * as net from 'node:net';
import * as os from 'node:os';
import type { Config, TenantConfig } from '../config/types';
import { loadConfig } from '../config/load';
import type { OutEvent, Sink } from '../contracts';
import { isBridgeError } from '../errors';
import { createLogger, silentLogger, type Level, type Logger } from '../obs/log';
import { createSink } from '../sinks';
import { SKEW_WARN_MS } from '../sources/o365/api/client';
import { createTenantClient } from '../sources/o365/tenant-client';
import { flagString, parseArgs } from './args';
import { classifyError, EXIT, EXIT_MEANING } from './exit-codes';
import { reportConfigError } from './run';

/**
 * What to do, per code: the README's troubleshooting table, word for word (test/commands/doctor.test.ts
 * compares them), so the two can't drift.
 */
export const FIXES: Record<string, string> = {
  AUTH_FAILED: 'check tenant id, client id, secret expiry or certificate upload',
  AUTH_UNAVAILABLE: 'retried; check proxy/CA settings if it persists',
  API_FORBIDDEN: 'add the application permission and grant admin consent',
  API_TENANT: 'usually unified audit logging is off, or admin consent is missing; check the tenant id',
  API_UNAUTHORIZED: 'usually a cloud mismatch: the token comes from one cloud and the API is another; check cloud (or authorityUrl and apiUrl)',
  API_NOT_SUBSCRIBED: 'subscriptions start; content can take 12 h to appear',
  API_SUBSCRIPTION_DISABLED: 're-enable when allowed; the bridge re-checks each pass',
  API_THROTTLED: 'retried with backoff honouring Retry-After; lower http.requestsPerMinute; set publisherId',
  API_BAD_WINDOW: 'the bridge re-computes and clamps windows; a persistent one means clock skew (a warning says so)',
  API_SERVER: 'retried with backoff; the checkpoint waits',
  API_NETWORK: 'retried with backoff; the checkpoint waits',
  API_TIMEOUT: 'retried with backoff; the checkpoint waits',
  SINK_UNREACHABLE: 'retried with backoff; fetching pauses meanwhile; check sink.host, sink.port and that the receiver runs',
  SINK_CLOSED: 'retried with backoff; fetching pauses meanwhile; check sink.host, sink.port and that the receiver runs',
  SINK_ACK_TIMEOUT: "sent again; check Fluentd's buffers and require_ack_response-capable input",
  SINK_AUTH: "the message names the setting: same shared_key (and user/password) on both sides; sink.tls.* to match the receiver's <transport tls>",
};

const ROLE_READ = 'ActivityFeed.Read';
const ROLE_READ_DLP = 'ActivityFeed.ReadDlp';
const HINT_PROXY_CA = 'a proxy or TLS problem: set http.proxy (and http.noProxy) if the host needs one, and http.caFile to the CA of a TLS-inspecting proxy';
const HINT_RESOURCE = 'the API (resource) is unknown to this authority: usually a cloud mismatch; check cloud (or authorityUrl and apiUrl): both must be the same cloud';
const HINT_CLOCK = 'sync the system clock (NTP): Entra ID refuses client assertions and the API refuses windows from a clock far off';

export interface Check {
  ok: boolean;
  /** e.g. "tenant contoso: token". */
  what: string;
  /** On ✔: what was seen. On ✖: the error message. */
  detail?: string;
  code?: string;
  /** More specific than the table's fix (the DLP permission, the proxy/CA...). */
  hint?: string;
  /** The error's own class (a non-retryable network error is a setting, not a glitch). */
  retryable?: boolean;
}

export function formatCheck(c: Check): string[] {
  if (c.ok) return [`✔ ${c.what}${c.detail ? `: ${c.detail}` : ''}`];
  const lines = [`✖ ${c.what}: ${c.code ?? 'FAILED'}${c.detail ? `: ${c.detail}` : ''}`];
  const fix = c.code ? FIXES[c.code] : undefined;
  if (fix) lines.push(`    fix: ${fix}`);
  if (c.hint) lines.push(`    also: ${c.hint}`);
  return lines;
}

/** Exit code of a list of checks: the classes of `run --once`, the one that needs a person first. */
export function doctorExitCode(checks: readonly Check[]): number {
  let code: number = EXIT.OK;
  const rank = (x: number) => (x === EXIT.TENANT ? 3 : x === EXIT.RECEIVER ? 2 : x === EXIT.PARTIAL ? 1 : 0);
  for (const c of checks) {
    if (c.ok) continue;
    const x = classifyError({ code: c.code ?? 'INTERNAL', retryable: c.retryable });
    if (rank(x) > rank(code)) code = x;
  }
  return code;
}

/** The `roles` claim of a JWT access token, or null when it is not a readable JWT (nothing else is read). */
export function tokenRoles(token: string): string[] | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const claims = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as { roles?: unknown };
    return Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : [];
  } catch {
    return null;
  }
}

/** A bare TCP connect: tells "nothing listens there" apart from everything after it. */
export function tcpReachable(host: string, port: number, timeoutMs: number): Promise<{ ok: true } | { ok: false; cause: string }> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (r: { ok: true } | { ok: false; cause: string }) => {
      s.destroy();
      resolve(r);
    };
    s.setTimeout(timeoutMs, () => done({ ok: false, cause: `no answer within ${timeoutMs} ms` }));
    s.once('connect', () => done({ ok: true }));
    s.once('error', (e: NodeJS.ErrnoException) => done({ ok: false, cause: e.code ?? e.message }));
  });
}

export interface DoctorDeps {
  out?: (line: string) => void;
  logger?: Logger;
  now?: () => number;
  /** The sink to probe instead of the configured one (tests). */
  sink?: Sink;
}

/** Every check for one tenant, in order; later checks are skipped when an earlier one makes them moot. */
export async function checkTenant(cfg: Config, t: TenantConfig, logger: Logger): Promise<Check[]> {
  const who = `tenant ${t.name}`;
  const checks: Check[] = [];
  const fail = (what: string, err: unknown, hint?: string): Check => {
    const e = isBridgeError(err) ? err : { code: 'INTERNAL', message: String((err as Error)?.message ?? err), details: {} as Record<string, unknown>, retryable: false };
    // No answer at all (refused, reset, timeout, TLS verification): most often a proxy or a CA. An
    // HTTP 5xx from the token endpoint is an outage there instead, and gets no such hint.
    const transport = e.code === 'API_NETWORK' || e.code === 'API_TIMEOUT' || (e.code === 'AUTH_UNAVAILABLE' && e.details.cause !== undefined);
    const proxyCa = transport ? HINT_PROXY_CA : undefined;
    const clock = /AADSTS700024/.test(e.message) ? HINT_CLOCK : undefined;
    const cloud = /AADSTS500011/.test(e.message) ? HINT_RESOURCE : undefined;
    const c: Check = { ok: false, what: `${who}: ${what}`, code: e.code, detail: e.message, hint: hint ?? proxyCa ?? clock ?? cloud, retryable: e.retryable };
    checks.push(c);
    return c;
  };
  // Few, short retries: a check should answer in seconds (throttling shows up as ✖ API_THROTTLED).
  const client = createTenantClient(cfg, t, logger, { retry: { maxAttempts: 2, baseDelayMs: 500, maxDelayMs: 2000, throttleBaseDelayMs: 2000, maxRetryAfterMs: 5000 } });
  try {
    let token: string;
    try {
      token = await client.tokens!.getToken();
    } catch (err) {
      fail('token', err);
      return checks;
    }
    const roles = tokenRoles(token);
    const wantsDlp = t.contentTypes.includes('DLP.All');
    if (roles === null) {
      checks.push({ ok: true, what: `${who}: token`, detail: 'acquired (not a JWT: roles not checked)' });
    } else {
      checks.push({ ok: true, what: `${who}: token`, detail: `acquired, roles ${roles.length ? roles.join(', ') : '(none)'}` });
      const missing = [ROLE_READ, ...(wantsDlp ? [ROLE_READ_DLP] : [])].filter((r) => !roles.includes(r));
      if (missing.length > 0) {
        checks.push({
          ok: false,
          what: `${who}: permissions`,
          code: 'API_FORBIDDEN',
          detail: `the token lacks ${missing.join(' and ')}${missing.includes(ROLE_READ_DLP) && !missing.includes(ROLE_READ) ? ' (needed for DLP.All)' : ''}`,
          hint:
            roles.length === 0
              ? 'no roles at all: admin consent was not granted for the Office 365 Management APIs application permissions'
              : `add the Office 365 Management APIs application permission ${missing.join(' and ')} and grant admin consent`,
        });
      }
    }

    let enabled: Set<string>;
    try {
      const subs = await client.api.listSubscriptions();
      enabled = new Set(subs.filter((s) => s.status.toLowerCase() === 'enabled').map((s) => s.contentType));
      checks.push({ ok: true, what: `${who}: subscriptions`, detail: subs.length ? subs.map((s) => `${s.contentType} ${s.status.toLowerCase()}`).join(', ') : 'none yet' });
    } catch (err) {
      fail('subscriptions', err);
      return checks;
    }
    for (const ct of t.contentTypes) {
      if (!enabled.has(ct)) {
        checks.push({
          ok: false,
          what: `${who}: ${ct}`,
          code: 'API_NOT_SUBSCRIBED',
          detail: 'the subscription is not enabled, so nothing of it is collected yet',
          hint: `\`subscriptions start --config ${cfg.sourceFile}\` (run starts it too)`,
        });
        continue;
      }
      // One hour ending now: small, and inside what the API accepts whatever the cursor says.
      const end = new Date(client.api.now());
      const start = new Date(end.getTime() - 3_600_000);
      try {
        let n = 0;
        for await (const page of client.api.listContent(ct, start, end)) {
          n += page.length;
          break;
        }
        checks.push({ ok: true, what: `${who}: ${ct}`, detail: `listed the last hour (${n} blob${n === 1 ? '' : 's'} on the first page)` });
      } catch (err) {
        fail(ct, err, ct === 'DLP.All' && isBridgeError(err, 'API_FORBIDDEN') ? `DLP.All needs ${ROLE_READ_DLP} as well, with admin consent` : undefined);
      }
    }
    const skew = client.api.clockSkewMs;
    const s = Math.round(skew / 1000);
    if (Math.abs(skew) > SKEW_WARN_MS) {
      checks.push({ ok: false, what: `${who}: clock`, code: 'API_BAD_WINDOW', detail: `this clock is ${Math.abs(s)} s ${skew > 0 ? 'behind' : 'ahead of'} the API's`, hint: HINT_CLOCK });
    } else {
      checks.push({ ok: true, what: `${who}: clock`, detail: `within ${Math.round(SKEW_WARN_MS / 60_000)} min of the API's (${s >= 0 ? '+' : ''}${s} s)` });
    }
    return checks;
  } finally {
    client.close();
  }
}

export function probeEvent(cfg: Pick<Config, 'tagPrefix'>, nowMs: number): OutEvent {
  return {
    tag: `${cfg.tagPrefix}.bridge.probe`,
    time: { sec: Math.floor(nowMs / 1000), nsec: (nowMs % 1000) * 1_000_000 },
    record: { message: 'o365-fluent-bridge doctor: connection check; safe to drop', host: os.hostname(), pid: process.pid, at: new Date(nowMs).toISOString() },
  };
}

const TLS_CAUSE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|HOSTNAME|ALTNAME|UNABLE_TO_GET_ISSUER|SSL|TLS/;
const CERT_CAUSE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|HOSTNAME|ALTNAME|UNABLE_TO_GET_ISSUER/;

/** The sink's checks: TCP, then TLS and handshake and the acknowledged event, told apart by the error. */
export async function checkSink(cfg: Config, deps: Pick<DoctorDeps, 'sink' | 'logger' | 'now'> = {}): Promise<Check[]> {
  const sc = cfg.sink;
  if (sc.type === 'stdout' && !deps.sink) return [{ ok: true, what: 'sink stdout', detail: 'nothing to connect to (no test event written)' }];
  const where = `${sc.host}:${sc.port}`;
  const checks: Check[] = [];
  const timeoutMs = Math.min(sc.ackTimeoutSeconds * 1000, 10_000);
  const tcp = await tcpReachable(sc.host, sc.port, timeoutMs);
  if (!tcp.ok) {
    checks.push({ ok: false, what: `sink: TCP connection to ${where}`, code: 'SINK_UNREACHABLE', detail: tcp.cause, hint: 'check sink.host and sink.port, that Fluentd (or Fluent Bit) runs with a forward input there, and firewalls' });
    return checks;
  }
  checks.push({ ok: true, what: `sink: TCP connection to ${where}` });
  const tag = `${cfg.tagPrefix}.bridge.probe`;
  const sink = deps.sink ?? createSink(cfg.sink, { logger: deps.logger ?? silentLogger });
  const tlsWhat = 'sink: TLS';
  const hsWhat = `sink: shared-key handshake${sc.username ? ` (user ${sc.username})` : ''}`;
  const ackWhat = `sink: test event acknowledged (tag ${tag})`;
  try {
    const batch = sink.encode([probeEvent(cfg, (deps.now ?? Date.now)())]);
    try {
      await sink.deliver(batch);
    } finally {
      sink.release(batch);
    }
    if (sc.tls.enabled) checks.push({ ok: true, what: tlsWhat, detail: sc.tls.rejectUnauthorized === false ? 'connected (certificate NOT verified: tls.rejectUnauthorized is false)' : 'certificate verified' });
    if (sc.sharedKey !== undefined) checks.push({ ok: true, what: hsWhat });
    checks.push({ ok: true, what: ackWhat });
  } catch (err) {
    const e = isBridgeError(err) ? err : undefined;
    const code = e?.code ?? 'INTERNAL';
    const detail = e?.message ?? String(err);
    const cause = String(e?.details.cause ?? '');
    if (code === 'SINK_AUTH' && sc.tls.enabled && TLS_CAUSE.test(cause)) {
      // A certificate problem gets the CA hint; a protocol one (TLS on one side only) is named by the message.
      const certHint = CERT_CAUSE.test(cause) ? "the receiver's certificate must be signed by sink.tls.caFile (or a system CA) and name sink.tls.servername (or sink.host)" : undefined;
      checks.push({ ok: false, what: tlsWhat, code, detail, hint: certHint });
    } else if (code === 'SINK_AUTH') {
      if (sc.tls.enabled) checks.push({ ok: true, what: tlsWhat });
      checks.push({ ok: false, what: hsWhat, code, detail, hint: sc.tls.enabled ? undefined : 'if the receiver has <transport tls>, set sink.tls.enabled: true' });
    } else if (code === 'SINK_UNREACHABLE' || code === 'SINK_CLOSED') {
      checks.push({
        ok: false,
        what: `sink: forward protocol on ${where}`,
        code,
        detail,
        hint: sc.tls.enabled
          ? 'the port answers, but not as a TLS forward input: is <transport tls> set on the receiver? (or set sink.tls.enabled: false)'
          : 'the port answers, but not as a forward input: check the port, and whether the receiver expects TLS (sink.tls.enabled) or a shared key (sink.sharedKey)',
      });
    } else {
      if (sc.tls.enabled) checks.push({ ok: true, what: tlsWhat });
      if (sc.sharedKey !== undefined && code === 'SINK_ACK_TIMEOUT') checks.push({ ok: true, what: hsWhat });
      checks.push({ ok: false, what: ackWhat, code, detail });
    }
  } finally {
    await sink.close().catch(() => undefined);
  }
  return checks;
}

/** All checks, printed as they complete; returns the exit code. */
export async function runDoctor(cfg: Config, deps: DoctorDeps = {}): Promise<number> {
  const out = deps.out ?? ((l: string) => void process.stdout.write(l + '\n'));
  const logger = deps.logger ?? silentLogger;
  const checks: Check[] = [];
  const sinkDesc = cfg.sink.type === 'stdout' ? 'stdout' : `forward ${cfg.sink.host}:${cfg.sink.port}${cfg.sink.tls.enabled ? ' TLS' : ''}${cfg.sink.sharedKey !== undefined ? ', shared key' : ''}`;
  out(`doctor: ${cfg.sourceFile}: ${cfg.tenants.length} tenant${cfg.tenants.length === 1 ? '' : 's'}, sink ${sinkDesc}`);
  const emit = (cs: Check[]) => {
    checks.push(...cs);
    for (const c of cs) for (const l of formatCheck(c)) out(l);
  };
  // One tenant at a time: the lines stay grouped, and a probe is not the place for parallel load.
  for (const t of cfg.tenants) emit(await checkTenant(cfg, t, logger));
  emit(await checkSink(cfg, deps));
  const failed = checks.filter((c) => !c.ok).length;
  const code = doctorExitCode(checks);
  out(failed === 0 ? `doctor: all ${checks.length} checks passed` : `doctor: ${failed} of ${checks.length} checks failed (exit ${code}: ${EXIT_MEANING[code]})`);
  return code;
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['config', 'log-level']);
  const file = flagString(args, 'config') ?? args.positionals[0];
  if (!file || args.flags.has('help')) {
    process.stderr.write('usage: o365-fluent-bridge doctor --config FILE [--log-level debug|info|warn|error]   (alias: check-config --probe FILE)\n');
    return args.flags.has('help') ? 0 : 2;
  }
  let cfg: Config;
  try {
    cfg = await loadConfig(file);
  } catch (err) {
    return reportConfigError(err);
  }
  const level = flagString(args, 'log-level') as Level | undefined;
  const logger = level ? createLogger({ level }) : silentLogger;
  return runDoctor(cfg, { logger });
}
