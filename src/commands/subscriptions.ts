/**
 * `o365-fluent-bridge subscriptions list|start|stop --config FILE [--tenant ID|NAME] [--content-type CT] [--json]`
 *
 * Looks at or changes a tenant's Management Activity API subscriptions with the same credentials, HTTP
 * stack (proxy, CA) and client as `run`. `run` starts what it needs by itself; this is for operators:
 * checking a new tenant, or stopping a content type on purpose (content is only collected while a
 * subscription is enabled, so `stop` needs the content type named explicitly).
 * Exit codes: 0 all done, 1 an API call failed for some tenant (the others still ran), 2 usage or config.
 */
import { createTenantClient } from '../sources/o365/tenant-client';
import { loadConfig } from '../config/load';
import type { Config, TenantConfig } from '../config/types';
import { CONTENT_TYPES, type SubscriptionStatus } from '../contracts';
import { BridgeError, isBridgeError } from '../errors';
import { createLogger, type Logger } from '../obs/log';
import { flagString, parseArgs } from './args';

const USAGE =
  'usage: o365-fluent-bridge subscriptions list|start|stop --config FILE [--tenant ID|NAME] [--content-type CT] [--json]';
const ACTIONS = ['list', 'start', 'stop'] as const;
type Action = (typeof ACTIONS)[number];

/** What the command needs of a tenant's API client. */
export interface SubscriptionsClient {
  listSubscriptions(): Promise<SubscriptionStatus[]>;
  startSubscription(contentType: string): Promise<SubscriptionStatus>;
  stopSubscription(contentType: string): Promise<void>;
  close(): void;
}

export interface SubscriptionsDeps {
  loadConfig?: (file: string) => Promise<Config>;
  makeClient?: (cfg: Config, tenant: TenantConfig, logger: Logger) => SubscriptionsClient;
  stdout?: (s: string) => void;
  stderr?: (s: string) => void;
  logger?: Logger;
}

export interface SubscriptionRow {
  tenantId: string;
  tenantName: string;
  contentType: string;
  /** As the API spells it (`enabled`, `disabled`), `stopped` after a stop, `absent` when listed nowhere. */
  status: string;
  /** Configured for polling in this config. */
  configured: boolean;
  webhook: unknown;
  error?: { code: string; message: string };
}

export async function main(argv: string[]): Promise<number> {
  return runSubscriptions(argv);
}

export async function runSubscriptions(argv: string[], deps: SubscriptionsDeps = {}): Promise<number> {
  const out = deps.stdout ?? ((s: string) => void process.stdout.write(s));
  const err = deps.stderr ?? ((s: string) => void process.stderr.write(s));
  const usage = (msg: string) => {
    err(`${msg}\n${USAGE}\n`);
    return 2;
  };

  const args = parseArgs(argv, ['config', 'tenant', 'content-type']);
  if (args.flags.has('help') || args.positionals[0] === 'help') {
    out(USAGE + '\n');
    return 0;
  }
  const known = new Set(['config', 'tenant', 'content-type', 'json']);
  for (const k of args.flags.keys()) if (!known.has(k)) return usage(`unknown option --${k}`);
  const action = args.positionals[0] as Action | undefined;
  if (!action || !ACTIONS.includes(action)) return usage(action ? `unknown action "${action}"` : 'missing action: list, start or stop');
  if (args.positionals.length > 1) return usage(`unexpected argument "${args.positionals[1]}"`);
  const file = flagString(args, 'config');
  if (!file) return usage('missing --config FILE');
  for (const k of ['tenant', 'content-type']) {
    if (args.flags.get(k) === true) return usage(`--${k} needs a value`);
  }
  let contentType: string | undefined;
  const ctArg = flagString(args, 'content-type');
  if (ctArg !== undefined) {
    contentType = CONTENT_TYPES.find((c) => c.toLowerCase() === ctArg.toLowerCase());
    if (!contentType) return usage(`unknown content type "${ctArg}": use one of ${CONTENT_TYPES.join(', ')}`);
  }
  if (action === 'stop' && !contentType) {
    return usage('stop needs --content-type CT: content published while a subscription is stopped is never available');
  }

  let cfg: Config;
  try {
    cfg = await (deps.loadConfig ?? loadConfig)(file);
  } catch (e) {
    if (!isBridgeError(e)) throw e;
    const problems = (e as { problems?: string[] }).problems;
    err(`error ${e.code}: ${e.message}\n`);
    if (problems && problems.length > 1) err(problems.map((p) => `  ${p}\n`).join(''));
    return 2;
  }
  const tenantArg = flagString(args, 'tenant');
  const tenants = tenantArg ? cfg.tenants.filter((t) => t.id.toLowerCase() === tenantArg.toLowerCase() || t.name === tenantArg) : cfg.tenants;
  if (tenants.length === 0) {
    return usage(`no tenant "${tenantArg}" in ${file}: use a configured tenant id or name (${cfg.tenants.map((t) => t.name).join(', ')})`);
  }

  const logger = deps.logger ?? createLogger({ level: 'warn', pretty: Boolean(process.stderr.isTTY) });
  const make = deps.makeClient ?? makeTenantClient;
  const rows: SubscriptionRow[] = [];
  let failed = false;
  for (const t of tenants) {
    const client = make(cfg, t, logger);
    try {
      rows.push(...(await runTenant(action, t, client, contentType)));
    } catch (e) {
      failed = true;
      const be = isBridgeError(e) ? e : new BridgeError('INTERNAL', String((e as Error)?.message ?? e), { cause: e });
      rows.push({ tenantId: t.id, tenantName: t.name, contentType: contentType ?? '*', status: 'error', configured: true, webhook: null, error: { code: be.code, message: be.message } });
    } finally {
      client.close();
    }
  }

  if (args.flags.has('json')) out(JSON.stringify({ action, subscriptions: rows }, null, 2) + '\n');
  else out(formatRows(rows));
  for (const r of rows) if (r.error) err(`error ${r.error.code}: tenant ${r.tenantName} ${r.contentType}: ${r.error.message}\n`);
  return failed || rows.some((r) => r.error) ? 1 : 0;
}

async function runTenant(action: Action, t: TenantConfig, client: SubscriptionsClient, only: string | undefined): Promise<SubscriptionRow[]> {
  const configured = new Set<string>(t.contentTypes);
  const row = (ct: string, status: string, webhook: unknown): SubscriptionRow => ({
    tenantId: t.id,
    tenantName: t.name,
    contentType: ct,
    status,
    configured: configured.has(ct),
    webhook: publicWebhook(webhook),
  });
  if (action === 'list') {
    const subs = await client.listSubscriptions();
    const rows: SubscriptionRow[] = [];
    const seen = new Set<string>();
    for (const s of subs) {
      if (!s || typeof s.contentType !== 'string') continue;
      if (only && s.contentType.toLowerCase() !== only.toLowerCase()) continue;
      seen.add(s.contentType.toLowerCase());
      rows.push(row(s.contentType, String(s.status ?? 'unknown').toLowerCase(), s.webhook));
    }
    // Configured content types the API doesn't list were never started: show them, they are why data is missing.
    for (const ct of only ? [only] : t.contentTypes) if (!seen.has(ct.toLowerCase())) rows.push(row(ct, 'absent', null));
    return rows;
  }
  const targets = only ? [only] : t.contentTypes;
  const rows: SubscriptionRow[] = [];
  // List before starting: a start request for an enabled subscription only spends Microsoft's
  // 15-minute allowance (and is refused with 429 within it).
  const enabled = action === 'start' ? new Set((await client.listSubscriptions()).filter((s) => s && String(s.status).toLowerCase() === 'enabled').map((s) => String(s.contentType).toLowerCase())) : new Set<string>();
  for (const ct of targets) {
    try {
      if (action === 'start' && enabled.has(ct.toLowerCase())) {
        rows.push(row(ct, 'enabled', null));
      } else if (action === 'start') {
        const s = await client.startSubscription(ct);
        rows.push(row(s.contentType ?? ct, String(s.status ?? 'enabled').toLowerCase(), s.webhook));
      } else {
        await client.stopSubscription(ct);
        rows.push(row(ct, 'stopped', null));
      }
    } catch (e) {
      // One content type failing (e.g. DLP.All without the licence) must not hide the others' results.
      if (!isBridgeError(e) || e.code === 'AUTH_FAILED' || e.code === 'AUTH_UNAVAILABLE') throw e;
      rows.push({ ...row(ct, 'error', null), error: { code: e.code, message: e.message } });
    }
  }
  return rows;
}

/** The same client construction as the bridge: cloud endpoints, HTTP stack (proxy, CA), tokens, API client. */
export function makeTenantClient(cfg: Config, t: TenantConfig, logger: Logger): SubscriptionsClient {
  const { api, close } = createTenantClient(cfg, t, logger);
  return {
    listSubscriptions: () => api.listSubscriptions(),
    startSubscription: (ct) => api.startSubscription(ct),
    stopSubscription: (ct) => api.stopSubscription(ct),
    close,
  };
}

export function formatRows(rows: SubscriptionRow[]): string {
  const header = ['TENANT', 'CONTENT TYPE', 'STATUS', 'POLLED', 'WEBHOOK'];
  const cells = rows.map((r) => [
    r.tenantName,
    r.contentType,
    r.error ? `error ${r.error.code}` : r.status,
    r.configured ? 'yes' : 'no',
    webhookText(r.webhook),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), ...cells.map(line)].join('\n') + '\n';
}

/** The webhook without `authId` (a shared secret the receiver checks), which must not be printed. */
function publicWebhook(w: unknown): unknown {
  if (w === null || w === undefined) return null;
  if (typeof w !== 'object') return w;
  const { authId: _secret, ...rest } = w as Record<string, unknown>;
  return rest;
}

function webhookText(w: unknown): string {
  if (w === null || w === undefined) return '-';
  if (typeof w === 'object' && typeof (w as { address?: unknown }).address === 'string') {
    const status = (w as { status?: unknown }).status;
    return `${(w as { address: string }).address}${typeof status === 'string' ? ` (${status})` : ''}`;
  }
  return typeof w === 'string' ? w : JSON.stringify(w);
}
