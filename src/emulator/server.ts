/**
 * startEmulator: wires the authority, the Activity API, throttling and transport faults onto one
 * HTTP(S) server on loopback.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { ActivityApi, afError, isGuid, type Reply } from './activity';
import {
  ROLE_READ,
  instanceDiscovery,
  jwks,
  openIdConfiguration,
  tokenRequest,
  verifyAccessToken,
  type AuthorityContext,
  type TokenResult,
} from './authority';
import { Catalog, contentTypeIndex } from './catalog';
import { serverCredentials } from './certs';
import { EmulatorLedger } from './ledger';
import { NO_FAULTS, resolveProfile } from './profiles';
import { Rng, hashString } from './rand';
import { tenantIdentity, type TenantIdentity } from './records/identity';
import { resolveTenants } from './tenants';
import { Throttle } from './throttle';
import { HOUR_MS } from './time';
import {
  type Emulator,
  type EmulatorContentType,
  type EmulatorOptions,
  type EmulatorStats,
  type Faults,
  type ResolvedTenant,
} from './types';

const MAX_BODY = 1024 * 1024;
const UNAUTHORIZED = { Message: 'Authorization has been denied for this request.' };

function checkRates(rates: Partial<Record<string, number>> | undefined): void {
  for (const k of Object.keys(rates ?? {})) {
    if (contentTypeIndex(k) < 0) throw new Error(`emulator: recordsPerHour has unknown content type "${k}"`);
  }
}

export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const profile = resolveProfile(opts.profile);
  checkRates(opts.recordsPerHour);
  const now = opts.now ?? Date.now;
  const seedHash = hashString(String(opts.seed ?? 1));
  let faults: Faults = { ...NO_FAULTS, ...profile.faults, ...opts.faults };
  const historyHours = Math.max(0, Math.min(168, Math.floor(opts.historyHours ?? 24)));
  const recordsPerHour = { ...profile.recordsPerHour } as Record<EmulatorContentType, number>;
  for (const [k, v] of Object.entries(opts.recordsPerHour ?? {})) if (v !== undefined) recordsPerHour[k as EmulatorContentType] = v;
  const pageSize = Math.max(1, Math.floor(opts.pageSize ?? 100));
  const tokenLifetimeSec = Math.max(60, Math.floor(opts.tokenLifetimeSec ?? 3600));
  const throttleStatus = opts.throttleStatus ?? 403;
  const latencyMs = Math.max(0, opts.latencyMs ?? 0);

  const tenants = resolveTenants(opts.tenants, seedHash);
  const byKey = new Map<string, { spec: ResolvedTenant; id: TenantIdentity }>();
  for (const t of tenants) {
    const id = tenantIdentity(t.tenantId, t.domain, seedHash);
    const entry = { spec: t, id };
    byKey.set(t.tenantId, entry);
    byKey.set(t.tenantId.replace(/-/g, ''), entry);
    byKey.set(t.domain.toLowerCase(), entry);
  }
  const lookup = (s: string): { spec: ResolvedTenant; id: TenantIdentity } | undefined => byKey.get(s.toLowerCase());

  const catalog = new Catalog({
    seedHash,
    recordsPerHour,
    recordsPerBlob: Math.max(1, Math.floor(opts.recordsPerBlob ?? 100)),
    varyVolume: profile.varyVolume,
    historyStart: (Math.floor(now() / HOUR_MS) - historyHours) * HOUR_MS,
    faults: () => faults,
  });

  const transportRng = new Rng(seedHash ^ 0xfa17);
  const throttle = new Throttle(Math.max(1, opts.requestsPerMinute ?? 2000), now);
  const stats: EmulatorStats = { requests: 0, byStatus: {}, byRoute: {}, throttled: 0, resets: 0, truncated: 0, tokensIssued: 0 };
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;

  const useHttps = opts.https === true;
  const creds = useHttps ? serverCredentials() : undefined;
  const server = creds ? https.createServer({ key: creds.keyPem, cert: creds.certPem }) : http.createServer();
  server.keepAliveTimeout = 5000;
  // Raw sockets (under TLS too), so stop() also ends idle keep-alive connections and handshakes.
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const url = `${useHttps ? 'https' : 'http'}://${hostPart}:${port}`;

  const activity = new ActivityApi(catalog, {
    baseUrl: url,
    pageSize,
    seedHash,
    quirks: { nextPageV1: opts.quirks?.nextPageV1 === true, lowercaseStartTime: opts.quirks?.lowercaseStartTime === true },
    now,
    faults: () => faults,
  });
  for (const ct of opts.enabledAtStart ?? []) {
    if (contentTypeIndex(ct) < 0) throw new Error(`emulator: enabledAtStart has unknown content type "${ct}"`);
    for (const t of tenants) activity.enable(t.tenantId, ct);
  }

  const ledger = new EmulatorLedger(
    catalog,
    seedHash,
    (id) => lookup(id)?.id,
    (tenantId, contentId) => activity.contentUri(tenantId, contentId),
    now,
  );

  const authority: AuthorityContext = {
    baseUrl: url,
    now,
    tokenLifetimeSec,
    tenantBySegment: (seg) => lookup(seg)?.spec,
    failToken: () => now() < faults.tokenOutageUntil || (faults.tokenFailureRate > 0 && transportRng.float() < faults.tokenFailureRate),
  };

  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      if (!stopped) fn();
    }, ms);
    timers.add(t);
  };

  const count = (route: string, status: number): void => {
    stats.byRoute[route] = (stats.byRoute[route] ?? 0) + 1;
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
  };

  function send(res: http.ServerResponse, route: string, reply: Reply, opts2: { delay?: number; truncate?: boolean } = {}): void {
    count(route, reply.status);
    const body = reply.body ?? (reply.json === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(reply.json)));
    const headers: Record<string, string | number> = { ...reply.headers, 'Content-Length': body.length };
    if (reply.json !== undefined || reply.isBlob) headers['Content-Type'] = 'application/json; charset=utf-8';
    const write = (): void => {
      if (res.destroyed) return;
      res.writeHead(reply.status, headers);
      if (opts2.truncate && body.length > 1) {
        stats.truncated++;
        // Announce the whole length, send half, then drop the connection: what a cut transfer looks like.
        res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.destroy());
        return;
      }
      res.end(body);
      if (reply.served) {
        const served = reply.served;
        res.once('finish', () => ledger.noteServed(served.tenantId, served.contentId, served.records, body.length));
      }
    };
    const delay = (opts2.delay ?? 0) + latencyMs;
    if (delay > 0) later(delay, write);
    else write();
  }

  function sendToken(res: http.ServerResponse, r: TokenResult): void {
    if (r.status === 200) stats.tokensIssued++;
    send(res, 'token', { status: r.status, json: r.body, headers: { 'Cache-Control': 'no-store, no-cache', Pragma: 'no-cache' } });
  }

  function handleApi(req: http.IncomingMessage, res: http.ServerResponse, parts: string[], query: URLSearchParams, body: string): void {
    // parts: ['api', 'v1.0' | 'v1', tenant, 'activity', 'feed', ...op]
    const tenantSeg = parts[2] ?? '';
    const route = routeName(parts.slice(5));
    if (parts[3] !== 'activity' || parts[4] !== 'feed' || parts.length < 6) {
      send(res, 'api:unknown', { status: 404, json: { Message: `No HTTP resource was found that matches the request URI '${url}${req.url ?? ''}'.` } });
      return;
    }
    const auth = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    const claims = m ? verifyAccessToken(m[1]) : undefined;
    if (!claims || claims.exp * 1000 <= now() || claims.aud.replace(/\/+$/, '') !== url) {
      send(res, route, { status: 401, json: UNAUTHORIZED, headers: { 'WWW-Authenticate': 'Bearer' } });
      return;
    }
    if (!isGuid(tenantSeg)) {
      send(res, route, afError('AF20013', `The tenant ID passed in the URL (${tenantSeg}) is not a valid GUID.`));
      return;
    }
    if (claims.tid.toLowerCase() !== tenantSeg.toLowerCase()) {
      send(res, route, afError('AF20010', `The tenant ID passed in the URL (${tenantSeg}) does not match the tenant ID passed in the access token (${claims.tid}).`));
      return;
    }
    if (!claims.roles?.includes(ROLE_READ)) {
      send(res, route, afError('AF10001', `The permission set (${(claims.roles ?? []).join(' ')}) sent in the request did not include the expected permission ActivityFeed.Read.`));
      return;
    }
    const entry = lookup(tenantSeg);
    if (!entry) {
      send(res, route, afError('AF20011', `Specified tenant ID (${tenantSeg}) does not exist in the system or has been deleted.`));
      return;
    }
    const wait = throttle.take(entry.spec.tenantId);
    if (wait > 0) {
      stats.throttled++;
      const publisher = lowerQuery(query).get('publisheridentifier') ?? '00000000-0000-0000-0000-000000000000';
      const message = `Too many requests. Method=${methodName(route)}, PublisherId=${publisher}`;
      send(
        res,
        route,
        throttleStatus === 429
          ? { ...afError('AF429', message, 429), headers: { 'Retry-After': String(wait) } }
          : afError('AF429', message, 403),
      );
      return;
    }
    // Transport faults: drawn per request, so a retry can succeed.
    if (faults.connectionResetRate > 0 && transportRng.float() < faults.connectionResetRate) {
      stats.resets++;
      count(route, 0);
      req.socket.destroy();
      return;
    }
    if (faults.serverErrorRate > 0 && transportRng.float() < faults.serverErrorRate) {
      send(res, route, afError('AF50000', 'An internal error occurred. Retry the request.', 500));
      return;
    }
    const delay = faults.slowResponseRate > 0 && transportRng.float() < faults.slowResponseRate ? faults.slowResponseMs : 0;
    const reply = activity.handle({
      method: req.method ?? 'GET',
      tenant: entry.id,
      op: parts.slice(5).join('/'),
      query: lowerQuery(query),
      body,
    });
    const truncate = reply.isBlob === true && faults.truncatedBlobRate > 0 && transportRng.float() < faults.truncatedBlobRate;
    send(res, route, reply, { delay, truncate });
  }

  function handle(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    stats.requests++;
    const u = new URL(req.url ?? '/', url);
    const parts = u.pathname.split('/').filter(Boolean).map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
    const method = req.method ?? 'GET';
    const p = parts.map((x) => x.toLowerCase());
    if (p[0] === 'api' && (p[1] === 'v1.0' || p[1] === 'v1')) {
      handleApi(req, res, parts, u.searchParams, body);
      return;
    }
    // Authority endpoints.
    if (method === 'POST' && parts.length === 4 && p[1] === 'oauth2' && p[2] === 'v2.0' && p[3] === 'token') {
      sendToken(res, tokenRequest(authority, parts[0], new URLSearchParams(body), false));
      return;
    }
    if (method === 'POST' && parts.length === 3 && p[1] === 'oauth2' && p[2] === 'token') {
      sendToken(res, tokenRequest(authority, parts[0], new URLSearchParams(body), true));
      return;
    }
    if (method === 'GET') {
      const tail = p.slice(1).join('/');
      if (p[0] === 'common' && tail === 'discovery/instance') {
        send(res, 'discovery', { status: 200, json: instanceDiscovery(url, `${hostPart}:${port}`) });
        return;
      }
      if (tail === 'v2.0/.well-known/openid-configuration' || tail === '.well-known/openid-configuration') {
        const t = lookup(parts[0]);
        const generic = ['common', 'organizations', 'consumers'].includes(p[0]);
        if (!t && !generic) {
          send(res, 'openid', aadErrorReply(authority, parts[0]));
          return;
        }
        send(res, 'openid', { status: 200, json: openIdConfiguration(url, parts[0], t?.spec.tenantId) });
        return;
      }
      if (tail === 'discovery/v2.0/keys' || tail === 'discovery/keys') {
        send(res, 'keys', { status: 200, json: jwks() });
        return;
      }
    }
    send(res, 'unknown', { status: 404, json: { error: 'not_found', error_description: `No route for ${method} ${u.pathname}` } });
  }

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      try {
        handle(req, res, Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        // A bug in the emulator must show, not hang the client.
        send(res, 'error', afError('AF50000', `An internal error occurred. Retry the request. (${(err as Error).message})`, 500));
      }
    });
  });

  const emulator: Emulator = {
    url,
    ca: creds?.caPem,
    tenants,
    ledger,
    scope: `${url}/.default`,
    setFaults(f: Partial<Faults>): void {
      faults = { ...faults, ...f };
      catalog.reset();
      activity.resetCache();
    },
    disableSubscription(tenantId: string, contentType: string): void {
      if (!lookup(tenantId)) throw new Error(`emulator: unknown tenant ${tenantId}`);
      if (contentTypeIndex(contentType) < 0) throw new Error(`emulator: unknown content type ${contentType}`);
      activity.disable(lookup(tenantId)!.spec.tenantId, contentType);
    },
    stats(): EmulatorStats {
      return { ...stats, byStatus: { ...stats.byStatus }, byRoute: { ...stats.byRoute } };
    },
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      sockets.clear();
      await closed;
    },
  };
  return emulator;
}

function aadErrorReply(ctx: AuthorityContext, segment: string): Reply {
  return {
    status: 400,
    json: {
      error: 'invalid_tenant',
      error_description: `AADSTS90002: Tenant '${segment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
      error_codes: [90002],
      timestamp: new Date(ctx.now()).toISOString(),
    },
  };
}

function lowerQuery(q: URLSearchParams): Map<string, string> {
  const m = new Map<string, string>();
  for (const [k, v] of q) {
    const key = k.toLowerCase();
    if (!m.has(key)) m.set(key, v);
  }
  return m;
}

function routeName(op: string[]): string {
  const first = (op[0] ?? '').toLowerCase();
  if (first === 'audit') return 'api:blob';
  if (first === 'subscriptions') return `api:${(op[1] ?? '').toLowerCase()}`;
  return `api:${first}`;
}

/** The Method= part of an AF429 message (the docs' sample says GetBlob). */
function methodName(route: string): string {
  switch (route) {
    case 'api:blob':
      return 'GetBlob';
    case 'api:content':
      return 'ListContent';
    case 'api:start':
      return 'StartSubscription';
    case 'api:stop':
      return 'StopSubscription';
    case 'api:list':
      return 'ListSubscriptions';
    default:
      return 'Get';
  }
}
