/**
 * What a pass means for the operator, as one pure function: a pass summary → an exit code for
 * `run --once`, one line per problem (naming the tenant), and a health per tenant that `/readyz`
 * and `status` show too, so all three say the same thing.
 *
 * The numbers: 0 and 2 keep their meaning (success, unusable configuration), 1 stays "unexpected"
 * (Node's own code for an uncaught error, and what `run` used for a fatal runtime error), and the
 * three new outcomes take the next small numbers, below 64 (sysexits) and 126 (the shell's own), so
 * they read easily in a cron mail. Ordered by who must act: 3 needs a change on the tenant side and
 * will not heal by itself; 4 is the receiver; 5 is transient and the next run catches up.
 */

export const EXIT = {
  OK: 0,
  /** Unexpected: a bug, or a fatal runtime error (state directory unusable or locked). */
  INTERNAL: 1,
  /** The config can't be used (as `check-config` says). */
  CONFIG: 2,
  /** A tenant could not authenticate, or the API refused it (permissions, consent, audit logging, subscription, CA/proxy). */
  TENANT: 3,
  /** The receiver refused the events or could not be reached: not everything was acknowledged. */
  RECEIVER: 4,
  /** Partial: some blobs (or a content type) failed for a transient reason and hold their checkpoint; the next run retries. */
  PARTIAL: 5,
} as const;

export type ProblemExit = typeof EXIT.TENANT | typeof EXIT.RECEIVER | typeof EXIT.PARTIAL;

export const EXIT_MEANING: Record<number, string> = {
  [EXIT.OK]: 'every tenant and content type completed and every event was acknowledged',
  [EXIT.INTERNAL]: 'unexpected or fatal runtime error',
  [EXIT.CONFIG]: 'the configuration cannot be used',
  [EXIT.TENANT]: 'a tenant could not authenticate or was refused by the API',
  [EXIT.RECEIVER]: 'the receiver refused the events or was unreachable',
  [EXIT.PARTIAL]: 'partial: some content failed and holds its checkpoint; the next run retries it',
};

/** Codes that need a change on the tenant side (credentials, app permissions, tenant settings, subscriptions). */
const TENANT_CODES = new Set([
  'AUTH_FAILED',
  'AUTH_UNAVAILABLE',
  'API_FORBIDDEN',
  'API_UNAUTHORIZED',
  'API_TENANT',
  'API_NOT_SUBSCRIBED',
  'API_SUBSCRIPTION_DISABLED',
  'API_BAD_REQUEST',
]);

/**
 * The exit class of one error. Token endpoint outages (AUTH_UNAVAILABLE) count as "could not
 * authenticate": they are also what a wrong proxy or CA looks like, and the tenant was not collected.
 * A non-retryable network error (TLS verification) is a CA/proxy setting, not a passing glitch.
 */
export function classifyError(e: { code: string; retryable?: boolean }): ProblemExit {
  if (e.code.startsWith('SINK_')) return EXIT.RECEIVER;
  if (TENANT_CODES.has(e.code)) return EXIT.TENANT;
  if (e.code === 'API_NETWORK' && e.retryable === false) return EXIT.TENANT;
  return EXIT.PARTIAL;
}

export interface ConfiguredTenant {
  id: string;
  name?: string;
  contentTypes: readonly string[];
}

/** The parts of a PassSummary read here (structural, so tests and other callers need no Bridge). */
export interface SummaryLike {
  finishedAt?: string;
  results: ReadonlyArray<{ tenantId: string; contentType: string; failedBlobs: number; error?: ErrorLike }>;
  tenantErrors: ReadonlyArray<{ tenantId: string; error: ErrorLike }>;
  sinkError?: ErrorLike;
}

export interface ErrorLike {
  code: string;
  message: string;
  retryable?: boolean;
}

export interface Problem {
  exit: ProblemExit;
  /** Absent for the receiver. */
  tenantId?: string;
  tenantName?: string;
  contentType?: string;
  code: string;
  message: string;
}

export type Health = 'ok' | 'refused' | 'receiver' | 'partial';

export interface ContentTypeHealth {
  contentType: string;
  health: Health;
  code?: string;
  message?: string;
  failedBlobs?: number;
}

export interface TenantHealth {
  id: string;
  name: string;
  /** The worst of its content types, or the tenant-level failure. */
  health: Health;
  code?: string;
  message?: string;
  contentTypes: ContentTypeHealth[];
}

export interface Verdict {
  exitCode: number;
  problems: Problem[];
  tenants: TenantHealth[];
  receiver?: { code: string; message: string };
}

const HEALTH_OF: Record<ProblemExit, Health> = { [EXIT.TENANT]: 'refused', [EXIT.RECEIVER]: 'receiver', [EXIT.PARTIAL]: 'partial' };
/** Which exit wins when several apply: the one that needs a person first. */
const RANK: Record<number, number> = { [EXIT.TENANT]: 3, [EXIT.RECEIVER]: 2, [EXIT.PARTIAL]: 1, [EXIT.OK]: 0 };

function worst(a: number, b: number): number {
  return (RANK[b] ?? 0) > (RANK[a] ?? 0) ? b : a;
}

const healthOfExit = (x: number): Health => (x === EXIT.OK ? 'ok' : HEALTH_OF[x as ProblemExit]);

/**
 * The verdict of one pass. `stopped`: the pass was cut short by a signal, so a (tenant, content
 * type) without a result was not collected (partial), rather than skipped for a disabled subscription.
 */
export function passVerdict(s: SummaryLike, configured: readonly ConfiguredTenant[], opts: { stopped?: boolean } = {}): Verdict {
  const problems: Problem[] = [];
  const tenants: TenantHealth[] = [];
  const failedTenants = new Map(s.tenantErrors.map((t) => [t.tenantId, t.error]));
  let exitCode: number = EXIT.OK;

  for (const t of configured) {
    const name = t.name ?? t.id;
    const th: TenantHealth = { id: t.id, name, health: 'ok', contentTypes: [] };
    tenants.push(th);
    const terr = failedTenants.get(t.id);
    failedTenants.delete(t.id);
    if (terr) {
      const x = classifyError(terr);
      problems.push({ exit: x, tenantId: t.id, tenantName: name, code: terr.code, message: terr.message });
      Object.assign(th, { health: healthOfExit(x), code: terr.code, message: terr.message });
      for (const ct of t.contentTypes) th.contentTypes.push({ contentType: ct, health: healthOfExit(x), code: terr.code });
      exitCode = worst(exitCode, x);
      continue;
    }
    let tx: number = EXIT.OK;
    for (const ct of t.contentTypes) {
      const r = s.results.find((x) => x.tenantId === t.id && x.contentType === ct);
      let x: number = EXIT.OK;
      let code: string | undefined;
      let message: string | undefined;
      if (!r) {
        x = opts.stopped ? EXIT.PARTIAL : EXIT.TENANT;
        code = opts.stopped ? 'STOPPED' : 'API_SUBSCRIPTION_DISABLED';
        message = opts.stopped
          ? 'not collected: the run was stopped before this content type ran'
          : 'skipped: the subscription is not enabled (see the log; `subscriptions start` when allowed)';
      } else if (r.error) {
        x = classifyError(r.error);
        code = r.error.code;
        message = r.error.message;
      } else if (r.failedBlobs > 0) {
        // The blobs' own errors were logged; the receiver's, when it is the cause, comes below.
        x = s.sinkError ? EXIT.RECEIVER : EXIT.PARTIAL;
        code = s.sinkError?.code ?? 'BLOBS_FAILED';
        message = `${r.failedBlobs} blob${r.failedBlobs === 1 ? '' : 's'} not delivered; the checkpoint waits for ${r.failedBlobs === 1 ? 'it' : 'them'} and the next run retries`;
      }
      const cth: ContentTypeHealth = { contentType: ct, health: healthOfExit(x) };
      if (code) Object.assign(cth, { code, message });
      if (r && r.failedBlobs > 0) cth.failedBlobs = r.failedBlobs;
      th.contentTypes.push(cth);
      if (x !== EXIT.OK) {
        problems.push({ exit: x as ProblemExit, tenantId: t.id, tenantName: name, contentType: ct, code: code!, message: message! });
        if ((RANK[x] ?? 0) > (RANK[tx] ?? 0)) Object.assign(th, { code, message });
        tx = worst(tx, x);
      }
    }
    th.health = healthOfExit(tx);
    exitCode = worst(exitCode, tx);
  }
  // A tenant error for a tenant not in the config (should not happen): still not a success.
  for (const [tenantId, e] of failedTenants) {
    const x = classifyError(e);
    problems.push({ exit: x, tenantId, tenantName: tenantId, code: e.code, message: e.message });
    exitCode = worst(exitCode, x);
  }
  let receiver: Verdict['receiver'];
  if (s.sinkError) {
    receiver = { code: s.sinkError.code, message: s.sinkError.message };
    problems.push({ exit: EXIT.RECEIVER, code: s.sinkError.code, message: s.sinkError.message });
    exitCode = worst(exitCode, EXIT.RECEIVER);
  }
  // A pass cut short by a signal did not complete, even if nothing failed in what it did.
  if (opts.stopped && exitCode === EXIT.OK) {
    problems.push({ exit: EXIT.PARTIAL, code: 'STOPPED', message: 'stopped by a signal before the pass finished; the checkpoints hold and the next run continues' });
    exitCode = EXIT.PARTIAL;
  }
  return { exitCode, problems, tenants, ...(receiver ? { receiver } : {}) };
}

/** One stderr line per problem, then what the exit code means. Nothing when all is well. */
export function formatVerdict(v: Verdict, prefix = 'run'): string[] {
  if (v.exitCode === EXIT.OK) return [];
  const lines = v.problems.map((p) => {
    const tenant = p.tenantName && p.tenantName !== p.tenantId ? `${p.tenantName} (${p.tenantId})` : p.tenantId;
    const who = p.tenantId ? `tenant ${tenant}${p.contentType ? ` ${p.contentType}` : ''}` : p.code === 'STOPPED' ? 'pass' : 'receiver';
    return `${prefix}: ${who}: ${p.code}: ${p.message}`;
  });
  lines.push(`${prefix}: exit ${v.exitCode}: ${EXIT_MEANING[v.exitCode]}`);
  return lines;
}

export interface TenantReadiness {
  id: string;
  name: string;
  /** 'pending' until the tenant's first pass finished. */
  health: Health | 'pending';
  code?: string;
  message?: string;
}

/**
 * /readyz from the bridge's live view plus the last pass's verdict. A tenant refused by the API makes
 * the bridge not ready (its reason replaces the bridge's vaguer "not authenticated yet"); a partial
 * pass does not (it is transient and retried); the receiver stays the bridge's own live judgement.
 */
export function readinessWithTenants(
  base: { ready: boolean; reasons: string[] },
  last: Pick<Verdict, 'tenants'> | undefined,
  configured: readonly ConfiguredTenant[],
): { ready: boolean; reasons: string[]; tenants: TenantReadiness[] } {
  const tenants: TenantReadiness[] = configured.map((t) => {
    const h = last?.tenants.find((x) => x.id === t.id);
    const name = t.name ?? t.id;
    if (!h) return { id: t.id, name, health: 'pending' };
    return { id: t.id, name, health: h.health, ...(h.code ? { code: h.code, message: h.message } : {}) };
  });
  const refused = tenants.filter((t) => t.health === 'refused').map((t) => `tenant ${t.name}:`);
  const reasons = base.reasons.filter((r) => !refused.some((k) => r.startsWith(k)));
  for (const t of tenants) if (t.health === 'refused') reasons.push(`tenant ${t.name}: ${t.code}: ${t.message}`);
  // The bridge's reasons (a tenant not authenticated yet, a failing receiver) still count.
  const ready = reasons.length === 0;
  return { ready, reasons, tenants };
}
