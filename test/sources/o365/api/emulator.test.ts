/**
 * The client against the API emulator over HTTPS with its CA: both credentials, paging, throttling
 * storms, server errors and resets, token expiry, foreign hosts, oversize/truncated/expired blobs,
 * and a log capture proving no secret or token is ever printed. Time is the emulator's injected
 * clock, advanced by the client's injected sleep: nothing waits for real.
 */
import { strict as assert } from 'node:assert';
import type { Readable } from 'node:stream';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../../../src/emulator';
import { createHttpStack, type HttpStack } from '../../../../src/net/http';
import { createActivityApi, type ActivityApiOptions, type ActivityClient } from '../../../../src/sources/o365/api/client';
import { createTokenProvider, type TenantTokenProvider } from '../../../../src/sources/o365/auth/token-provider';
import { resolveCloud } from '../../../../src/sources/o365/auth/clouds';
import { BridgeError } from '../../../../src/errors';
import { memoryLogger, type Logger } from '../../../../src/obs/log';
import type { ContentRef, TokenProvider } from '../../../../src/contracts';
import { clientCertificate } from '../../../support/api-tls';

const HOUR = 3_600_000;

async function drain(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

interface Rig {
  emu: Emulator;
  http: HttpStack;
  clock: { now: number };
  delays: number[];
  log: Logger & { lines: string[] };
  issued: string[];
  provider: TenantTokenProvider;
  tokens: TokenProvider;
  api: ActivityClient;
  close(): Promise<void>;
}

async function rig(
  emuOpts: EmulatorOptions = {},
  o: { certificate?: boolean; apiOpts?: Partial<ActivityApiOptions>; providerClock?: 'emulator' | 'real' } = {},
): Promise<Rig> {
  // Whole seconds: the API takes times to the second, so a window bound with milliseconds would be
  // rounded down on the wire and could list a blob the ledger query (exact bound) leaves out.
  const clock = { now: Math.floor(Date.now() / 1000) * 1000 };
  const cert = o.certificate ? clientCertificate('emulator-client') : undefined;
  const emu = await startEmulator({
    https: true,
    seed: 7,
    historyHours: 6,
    enabledAtStart: ['Audit.General'],
    now: () => clock.now,
    ...(cert ? { tenants: [{ tenantId: '6f1b7c2a-3d4e-4f50-8a9b-0c1d2e3f4a5b', clientId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d', certificatePem: cert.certificatePem }] } : {}),
    ...emuOpts,
  });
  const http = createHttpStack({ caPem: emu.ca, env: {}, timeoutMs: 5000 });
  const t = emu.tenants[0];
  const cloud = resolveCloud({ cloud: 'custom', apiUrl: emu.url, authorityUrl: emu.url });
  const log = memoryLogger();
  const delays: number[] = [];
  const provider = createTokenProvider({
    tenantId: t.tenantId,
    clientId: t.clientId,
    authority: cloud.authority,
    apiRoot: cloud.apiRoot,
    ...(cert ? { certificate: { ...cert, sendX5c: true } } : { secret: t.clientSecret }),
    http,
    logger: log,
    clock: o.providerClock === 'real' ? Date.now : () => clock.now,
  });
  const issued: string[] = [];
  const tokens: TokenProvider = {
    async getToken(force) {
      const tok = await provider.getToken(force);
      if (!issued.includes(tok)) issued.push(tok);
      return tok;
    },
  };
  const api = createActivityApi({
    tenantId: t.tenantId,
    apiRoot: cloud.apiRoot,
    tokens,
    http,
    clock: () => clock.now,
    logger: log,
    ...o.apiOpts,
    retry: {
      random: () => 0.5,
      // Waiting = moving the emulator's clock: throttle windows reset, tokens age, nothing sleeps.
      sleep: async (ms) => {
        delays.push(ms);
        clock.now += ms;
      },
      ...o.apiOpts?.retry,
    },
  });
  return {
    emu,
    http,
    clock,
    delays,
    log,
    issued,
    provider,
    tokens,
    api,
    async close() {
      http.close();
      await emu.stop();
    },
  };
}

async function listAll(api: ActivityClient, ct: string, start: number, end: number): Promise<ContentRef[]> {
  const out: ContentRef[] = [];
  for await (const page of api.listContent(ct, new Date(start), new Date(end))) out.push(...page);
  return out;
}

function assertNoSecrets(r: Rig, secrets: string[], errors: unknown[] = []): void {
  const all = [...secrets, ...r.issued].filter((s) => s && s.length >= 6);
  assert.ok(r.issued.length > 0, 'tokens were issued');
  const texts = [
    ...r.log.lines,
    ...errors.map((e) => (e instanceof Error ? JSON.stringify({ m: e.message, d: (e as BridgeError).details, s: e.stack }) : String(e))),
  ];
  for (const text of texts) for (const s of all) assert.ok(!text.includes(s), `a secret or token leaked into: ${text.slice(0, 200)}`);
}

describe('api client against the emulator (HTTPS)', function () {
  this.timeout(60_000);

  it('secret auth: ensures subscriptions, lists and fetches a blob; no secret or token in any log line', async () => {
    const r = await rig({ pageSize: 1000 });
    try {
      const subs = await r.api.ensureSubscriptions(['Audit.General', 'Audit.Exchange']);
      assert.deepEqual(
        subs.map((s) => [s.contentType, s.status]),
        [
          ['Audit.General', 'enabled'],
          ['Audit.Exchange', 'enabled'],
        ],
      );
      // A repeated start answers AF20024 ("already enabled"): success. Within 15 minutes of a start it is
      // refused (429, "too frequent"), not retried, and is a clear error when asked for directly.
      assert.equal((await r.api.startSubscription('Audit.General')).status, 'enabled');
      await assert.rejects(r.api.startSubscription('Audit.Exchange'), (e: BridgeError) => e.code === 'API_THROTTLED' && !e.retryable);
      assert.equal(r.emu.stats().byStatus['429'], 1);
      const end = r.clock.now;
      const listed = await listAll(r.api, 'Audit.General', end - 6 * HOUR, end);
      const expected = r.emu.ledger.blobs(r.emu.tenants[0].tenantId, end - 6 * HOUR, end, { contentType: 'Audit.General', includeExpired: true });
      assert.deepEqual([...new Set(listed.map((c) => c.contentId))].sort(), expected.map((b) => b.contentId).sort());
      const body = JSON.parse((await drain(await r.api.fetchBlob(listed[0].contentUri))).toString('utf8'));
      assert.ok(Array.isArray(body) && body.length > 0);
      assert.ok(r.log.lines.length > 0);
      assertNoSecrets(r, [r.emu.tenants[0].clientSecret]);
    } finally {
      await r.close();
    }
  });

  it('pages through a listing across many pages (/api/v1/, lower-case starttime) matching the ledger', async function () {
    const r = await rig({ pageSize: 3, recordsPerBlob: 10, quirks: { nextPageV1: true, lowercaseStartTime: true } });
    try {
      const end = r.clock.now;
      const start = end - 6 * HOUR;
      const listed: ContentRef[] = await listAll(r.api, 'Audit.General', start, end);
      const expected = r.emu.ledger.blobs(r.emu.tenants[0].tenantId, start, end, { contentType: 'Audit.General', includeExpired: true });
      assert.ok(expected.length > 6, `enough blobs for several pages (${expected.length})`);
      assert.deepEqual([...new Set(listed.map((c) => c.contentId))].sort(), expected.map((b) => b.contentId).sort());
      assert.ok((r.emu.stats().byRoute['api:content'] ?? 0) >= Math.ceil(expected.length / 3));
    } finally {
      await r.close();
    }
  });

  it('certificate auth (SHA-256 thumbprint, x5c): tokens accepted by the API', async () => {
    const r = await rig({}, { certificate: true });
    try {
      const subs = await r.api.listSubscriptions();
      assert.equal(subs[0].contentType, 'Audit.General');
      assert.equal(r.emu.stats().tokensIssued, 1);
    } finally {
      await r.close();
    }
  });

  it('rides out a 429 storm honouring Retry-After, and 403 AF429 throttling', async () => {
    for (const throttleStatus of [429, 403] as const) {
      const r = await rig({ requestsPerMinute: 5, throttleStatus, recordsPerBlob: 10 });
      const retryAfter: number[] = [];
      r.http.axios.interceptors.response.use((res) => {
        if (res.status === 429 || res.status === 403) retryAfter.push(Number(res.headers['retry-after'] ?? 0) * 1000);
        return res;
      });
      try {
        const end = r.clock.now;
        const listed = await listAll(r.api, 'Audit.General', end - 6 * HOUR, end);
        for (const c of listed.slice(0, 6)) await drain(await r.api.fetchBlob(c.contentUri));
        assert.ok(r.emu.stats().throttled > 0, 'the emulator throttled');
        // One wait per throttled answer (requests are sequential here), never shorter than its Retry-After.
        assert.equal(r.delays.length, retryAfter.length);
        r.delays.forEach((d, i) => assert.ok(d >= retryAfter[i], `waited ${d} ms, Retry-After ${retryAfter[i]} ms`));
        if (throttleStatus === 429) assert.ok(retryAfter.every((ra) => ra >= 1000));
        assert.ok(listed.length > 0);
      } finally {
        await r.close();
      }
    }
  });

  it('heals 5xx (AF50000), connection resets and token endpoint failures by retrying', async () => {
    const r = await rig({ recordsPerBlob: 20, faults: { serverErrorRate: 0.2, connectionResetRate: 0.1, tokenFailureRate: 0.3 } });
    try {
      const end = r.clock.now;
      const listed = await listAll(r.api, 'Audit.General', end - 6 * HOUR, end);
      const expected = r.emu.ledger.blobs(r.emu.tenants[0].tenantId, end - 6 * HOUR, end, { contentType: 'Audit.General', includeExpired: true });
      assert.deepEqual([...new Set(listed.map((c) => c.contentId))].sort(), expected.map((b) => b.contentId).sort());
      for (const c of listed.slice(0, 8)) assert.ok((await drain(await r.api.fetchBlob(c.contentUri))).length > 2);
      const st = r.emu.stats();
      assert.ok((st.byStatus['500'] ?? 0) > 0 && st.resets > 0, JSON.stringify(st));
      assertNoSecrets(r, [r.emu.tenants[0].clientSecret]);
    } finally {
      await r.close();
    }
  });

  it('renews a token that expired mid-run: proactively, or once after a 401', async () => {
    // Provider on the emulator's clock: renews before expiry, no 401.
    const a = await rig({ tokenLifetimeSec: 600 });
    try {
      await a.api.listSubscriptions();
      a.clock.now += 11 * 60_000;
      await a.api.listSubscriptions();
      assert.equal(a.issued.length, 2);
      assert.equal(a.emu.stats().byStatus['401'] ?? 0, 0);
    } finally {
      await a.close();
    }
    // Provider on another clock (think: suspended VM): the API's 401 triggers one renewal.
    const b = await rig({ tokenLifetimeSec: 600 }, { providerClock: 'real' });
    try {
      await b.api.listSubscriptions();
      b.clock.now += 11 * 60_000;
      await b.api.listSubscriptions();
      assert.equal(b.issued.length, 2);
      assert.equal(b.emu.stats().byStatus['401'], 1);
    } finally {
      await b.close();
    }
  });

  it('refuses a foreign-host contentUri or NextPageUri with no request made to it', async () => {
    const r = await rig();
    try {
      const end = r.clock.now;
      const [first] = await listAll(r.api, 'Audit.General', end - 6 * HOUR, end);
      const before = r.emu.stats().requests;
      const u = new URL(first.contentUri);
      // Same server, other host name: still a different origin for the token.
      const foreign = [first.contentUri.replace(u.host, `localhost:${u.port}`), first.contentUri.replace('https:', 'http:')];
      for (const f of foreign) await assert.rejects(r.api.fetchBlob(f), (e: BridgeError) => e.code === 'FOREIGN_HOST' && !e.retryable);
      assert.equal(r.emu.stats().requests, before);
    } finally {
      await r.close();
    }
  });

  it('refuses oversize blobs, reports truncated ones, and maps expired content to CONTENT_EXPIRED', async () => {
    const r = await rig({ recordsPerBlob: 50 }, { apiOpts: { maxBlobBytes: 4096 } });
    try {
      const end = r.clock.now;
      const listed = await listAll(r.api, 'Audit.General', end - 6 * HOUR, end);
      await assert.rejects(
        (async () => drain(await r.api.fetchBlob(listed[0].contentUri)))(),
        (e: BridgeError) => e.code === 'BLOB_TOO_LARGE' && /audit\//.test(e.message),
      );
    } finally {
      await r.close();
    }
    const t = await rig({ faults: { truncatedBlobRate: 1 } });
    try {
      const end = t.clock.now;
      const [c] = await listAll(t.api, 'Audit.General', end - 6 * HOUR, end);
      await assert.rejects(
        (async () => drain(await t.api.fetchBlob(c.contentUri)))(),
        (e: BridgeError) => e.code === 'BLOB_MALFORMED' && e.retryable && /truncated/.test(e.message) && /audit\//.test(e.message),
      );
    } finally {
      await t.close();
    }
    const x = await rig({ faults: { expiredContentRate: 1 } });
    try {
      const end = x.clock.now;
      const [c] = await listAll(x.api, 'Audit.General', end - 6 * HOUR, end);
      const before = x.emu.stats().byRoute['api:blob'] ?? 0;
      await assert.rejects(x.api.fetchBlob(c.contentUri), (e: BridgeError) => e.code === 'CONTENT_EXPIRED' && !e.retryable && e.details.afCode === 'AF20051');
      assert.equal((x.emu.stats().byRoute['api:blob'] ?? 0) - before, 1, 'not retried');
    } finally {
      await x.close();
    }
  });

  it('reports a subscription disabled by an admin with AF20023 and a clear message', async () => {
    const r = await rig();
    try {
      r.emu.disableSubscription(r.emu.tenants[0].tenantId, 'Audit.General');
      const end = r.clock.now;
      await assert.rejects(listAll(r.api, 'Audit.General', end - HOUR, end), (e: BridgeError) => e.code === 'API_SUBSCRIPTION_DISABLED' && /re-enable/.test(e.message));
    } finally {
      await r.close();
    }
  });

  it('fails at once with AUTH_FAILED on a wrong secret, and no secret in any log line or error', async () => {
    const r = await rig();
    try {
      const t = r.emu.tenants[0];
      const wrong = 'Wrong~Secret.Value.0123456789';
      const bad = createTokenProvider({ tenantId: t.tenantId, clientId: t.clientId, authority: r.emu.url, apiRoot: r.emu.url, secret: wrong, http: r.http, logger: r.log });
      const api = createActivityApi({ tenantId: t.tenantId, apiRoot: r.emu.url, tokens: bad, http: r.http, logger: r.log, retry: { sleep: async () => undefined } });
      const errors: unknown[] = [];
      await assert.rejects(
        api.listSubscriptions().catch((e) => {
          errors.push(e);
          throw e;
        }),
        (e: BridgeError) => e.code === 'AUTH_FAILED' && !e.retryable && /secret/.test(e.message),
      );
      await r.api.listSubscriptions(); // a good one, to have a real token to look for
      assertNoSecrets(r, [wrong, t.clientSecret], errors);
    } finally {
      await r.close();
    }
  });
});
