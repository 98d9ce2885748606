import { strict as assert } from 'node:assert';
import * as zlib from 'node:zlib';
import type { Readable } from 'node:stream';
import { createHttpStack, type HttpStack } from '../../../../src/net/http';
import { createActivityApi, parseStartWait, type ActivityApiOptions, type ListingInfo, MAX_AGE_MS, WINDOW_SAFETY_MARGIN_MS, START_INTERVAL_MS } from '../../../../src/sources/o365/api/client';
import { FileStartLog, MemoryStartLog } from '../../../../src/state/subscriptions';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as pathMod from 'node:path';
import { formatApiTime, MAX_SKEW_CORRECTION_MS, parseApiTime } from '../../../../src/sources/o365/api/window';
import { BridgeError } from '../../../../src/errors';
import { memoryLogger } from '../../../../src/obs/log';
import type { ContentRef, TokenProvider } from '../../../../src/contracts';
import { startServer, json, afError, type TestServer } from '../../../support/api-server';

const TENANT = '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0';
const FEED = `/api/v1.0/${TENANT}/activity/feed`;

function fakeTokens(): TokenProvider & { calls: boolean[]; current: string } {
  let n = 1;
  const t = {
    calls: [] as boolean[],
    current: `token-${n}-abcdefghijkl`,
    async getToken(force = false) {
      t.calls.push(force);
      if (force) t.current = `token-${++n}-abcdefghijkl`;
      return t.current;
    },
  };
  return t;
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function pages(it: AsyncIterable<ContentRef[]>): Promise<ContentRef[][]> {
  const out: ContentRef[][] = [];
  for await (const p of it) out.push(p);
  return out;
}

const ref = (origin: string, id: string): ContentRef => ({
  contentType: 'Audit.General',
  contentId: id,
  contentUri: `${origin}${FEED}/audit/${id}`,
  contentCreated: '2025-03-10T10:00:00.000Z',
  contentExpiration: '2025-03-17T10:00:00.000Z',
});

const path = (u: string) => new URL(u, 'https://x').pathname;
const query = (u: string) => new URL(u, 'https://x').searchParams;

describe('api/client (local server)', () => {
  let srv: TestServer;
  let foreign: TestServer;
  let http: HttpStack;
  let delays: number[];
  /** The client's clock; injected sleeps advance it, so throttling pauses pass instantly. */
  const fake = { now: 0 };
  let tokens: ReturnType<typeof fakeTokens>;

  before(async () => {
    srv = await startServer();
    foreign = await startServer();
    http = createHttpStack({ caPem: srv.caPem, env: {}, timeoutMs: 2000 });
  });
  after(async () => {
    http.close();
    await srv.close();
    await foreign.close();
  });
  beforeEach(() => {
    srv.seen.length = 0;
    foreign.seen.length = 0;
    delays = [];
    fake.now = Date.now();
    tokens = fakeTokens();
  });

  const api = (extra: Partial<ActivityApiOptions> = {}) =>
    createActivityApi({
      tenantId: TENANT,
      apiRoot: srv.origin,
      tokens,
      http,
      clock: () => fake.now,
      ...extra,
      retry: {
        sleep: async (ms) => {
          delays.push(ms);
          fake.now += ms;
        },
        random: () => 0.5,
        ...extra.retry,
      },
    });

  describe('listing', () => {
    it('follows NextPageUri (header, /api/v1/, lower-case starttime) across many pages, with PublisherIdentifier and the token on every call', async () => {
      const PAGES = 25;
      srv.handler = (req, res) => {
        const q = query(req.url!);
        const page = Number(q.get('nextPage') ?? q.get('nextpage') ?? '0');
        const headers: Record<string, string> = {};
        if (page + 1 < PAGES) {
          const st = q.get('startTime') ?? q.get('starttime');
          const et = q.get('endTime') ?? q.get('endtime');
          headers.NextPageUri = `${srv.origin}/api/v1/${TENANT}/activity/feed/subscriptions/content?contenttype=Audit.General&starttime=${st}&endtime=${et}&nextpage=${page + 1}`;
        }
        json(res, 200, [ref(srv.origin, `c${page}a`), ref(srv.origin, `c${page}b`)], headers);
      };
      const now = Date.now();
      const got = await pages(api().listContent('Audit.General', new Date(now - 3_600_000), new Date(now)));
      assert.equal(got.length, PAGES);
      assert.equal(got.flat().length, PAGES * 2);
      assert.equal(srv.seen.length, PAGES);
      for (const s of srv.seen) {
        assert.equal(query(s.url).get('PublisherIdentifier'), TENANT);
        assert.equal(s.headers.authorization, `Bearer ${tokens.current}`);
      }
      const first = query(srv.seen[0].url);
      assert.equal(first.get('contentType'), 'Audit.General');
      assert.equal(first.get('startTime'), formatApiTime(Math.floor((now - 3_600_000) / 1000) * 1000));
      assert.equal(path(srv.seen[1].url), `/api/v1/${TENANT}/activity/feed/subscriptions/content`);
    });

    it('clamps a window older than 7 days before sending it', async () => {
      srv.handler = (_q, res) => json(res, 200, []);
      const now = Date.now();
      await pages(api().listContent('Audit.General', new Date(now - 8 * 86_400_000), new Date(now - 7 * 86_400_000 + 3_600_000)));
      const st = parseApiTime(query(srv.seen[0].url).get('startTime')!)!;
      assert.ok(st >= now - MAX_AGE_MS + WINDOW_SAFETY_MARGIN_MS - 1000);
      const et = parseApiTime(query(srv.seen[0].url).get('endTime')!)!;
      assert.ok(et - st <= 86_400_000);
    });

    it('lists nothing for a window entirely past the limit', async () => {
      const now = Date.now();
      const got = await pages(api().listContent('Audit.General', new Date(now - 9 * 86_400_000), new Date(now - 8 * 86_400_000)));
      assert.equal(got.length, 0);
      assert.equal(srv.seen.length, 0);
    });

    it('corrects for a server clock running ahead (Date header, several answers) and warns', async () => {
      const ahead = 20 * 60_000;
      srv.handler = (_q, res) => json(res, 200, [], { Date: new Date(Date.now() + ahead).toUTCString() });
      const log = memoryLogger();
      const client = api({ logger: log });
      await client.listSubscriptions().catch(() => undefined);
      assert.equal(client.clockSkewMs, 0, 'one answer moves nothing');
      await client.listSubscriptions().catch(() => undefined);
      await client.listSubscriptions().catch(() => undefined);
      assert.ok(client.clockSkewMs > ahead - 5000);
      assert.ok(log.lines.some((l) => /clock skew/.test(l)));
      const now = Date.now();
      srv.seen.length = 0;
      await pages(client.listContent('Audit.General', new Date(now - 7 * 86_400_000), new Date(now - 6 * 86_400_000)));
      const st = parseApiTime(query(srv.seen[0].url).get('startTime')!)!;
      // Valid on the server's clock, not just ours.
      assert.ok(st >= now + ahead - MAX_AGE_MS + WINDOW_SAFETY_MARGIN_MS - 5000);
    });

    it('one answer 8 days ahead never moves the window; a persistent one is capped and warned about', async () => {
      const eightDays = 8 * 86_400_000;
      let n = 0;
      srv.handler = (_q, res) => json(res, 200, [], n++ === 1 ? { Date: new Date(Date.now() + eightDays).toUTCString() } : {});
      const log = memoryLogger();
      const client = api({ logger: log });
      for (let i = 0; i < 4; i++) await client.listSubscriptions();
      assert.ok(Math.abs(client.clockSkewMs) < 5000, `one odd Date: skew ${client.clockSkewMs}`);
      const now = Date.now();
      srv.seen.length = 0;
      await pages(client.listContent('Audit.General', new Date(now - 3_600_000), new Date(now)));
      assert.equal(srv.seen.length, 1, 'the window was listed');
      assert.equal(parseApiTime(query(srv.seen[0].url).get('startTime')!), Math.floor((now - 3_600_000) / 1000) * 1000);

      srv.handler = (_q, res) => json(res, 200, [], { Date: new Date(Date.now() + eightDays).toUTCString() });
      for (let i = 0; i < 9; i++) await client.listSubscriptions();
      assert.equal(client.clockSkewMs, MAX_SKEW_CORRECTION_MS, 'capped');
      assert.ok(log.lines.some((l) => /clock skew/.test(l) && /cappedAtSeconds/.test(l)));
      srv.seen.length = 0;
      await pages(client.listContent('Audit.General', new Date(now - 3_600_000), new Date(now)));
      assert.equal(srv.seen.length, 1, 'still listed: a skew is a warning, not a reason to skip');
    });

    it('refuses entries with a contentCreated in the future or not a date-time, naming their ids; keeps the rest', async () => {
      const now = Date.now();
      const good = { ...ref(srv.origin, 'good'), contentCreated: new Date(now - 60_000).toISOString() };
      srv.handler = (_q, res) =>
        json(res, 200, [
          good,
          { ...ref(srv.origin, 'far'), contentCreated: '2099-01-01T00:00:00.000Z' },
          { ...ref(srv.origin, 'digits'), contentCreated: '99999' },
          { ...ref(srv.origin, 'soon'), contentCreated: new Date(now + 60 * 60_000).toISOString() },
          { ...ref(srv.origin, 'x'.repeat(5000)) },
          null,
        ]);
      const log = memoryLogger();
      const info = {} as ListingInfo;
      const got = (await pages(api({ logger: log }).listContent('Audit.General', new Date(now - 3_600_000), new Date(now), info))).flat();
      assert.deepEqual(
        got.map((r) => (r ? r.contentId : r)),
        ['good', null],
        'the poller still sees (and counts) junk; refused entries never reach it',
      );
      assert.equal(info.refused, 4);
      for (const id of ['far', 'digits', 'soon']) assert.ok(log.lines.some((l) => l.includes('listing entry refused') && l.includes(`"contentId":"${id}"`)), id);
    });

    it('a NextPageUri loop keeps what was listed; an endless chain stops at the page bound, marked incomplete', async () => {
      const now = Date.now();
      srv.handler = (req, res) => {
        const p = query(req.url!).get('nextPage') ?? 'A';
        const next = p === 'A' ? 'B' : 'A';
        json(res, 200, [{ ...ref(srv.origin, p), contentCreated: new Date(now - 60_000).toISOString() }], {
          NextPageUri: `${srv.origin}${FEED}/subscriptions/content?contentType=Audit.General&nextPage=${next}`,
        });
      };
      const info = {} as ListingInfo;
      const got = (await pages(api().listContent('Audit.General', new Date(now - 3_600_000), new Date(now), info))).flat();
      assert.deepEqual(got.map((r) => r.contentId), ['A', 'B', 'A']);
      assert.equal(info.looped, true);
      assert.equal(info.complete, true);

      let k = 0;
      srv.handler = (_req, res) =>
        json(res, 200, [{ ...ref(srv.origin, `e${k}`), contentCreated: new Date(now - 60_000).toISOString() }], {
          NextPageUri: `${srv.origin}${FEED}/subscriptions/content?contentType=Audit.General&nextPage=${++k}`,
        });
      const endless = {} as ListingInfo;
      const all = (await pages(api({ maxListingPages: 25 }).listContent('Audit.General', new Date(now - 3_600_000), new Date(now), endless))).flat();
      assert.equal(all.length, 25, 'what was listed is kept');
      assert.equal(endless.complete, false);
      assert.equal(endless.pages, 25);
      assert.ok(endless.asked && +endless.asked.start === Math.floor((now - 3_600_000) / 1000) * 1000);
    });

    it('a token request that hangs ends at once on the stop signal', async () => {
      const stop = new AbortController();
      const hanging: TokenProvider = { getToken: () => new Promise<string>(() => undefined) };
      const client = api({ tokens: hanging, signal: stop.signal });
      const p = client.listSubscriptions();
      setTimeout(() => stop.abort(), 20);
      await assert.rejects(p, (e: BridgeError) => e.details.aborted === true);
      assert.equal(srv.seen.length, 0);
    });

    it('refuses a foreign-host or foreign-scheme NextPageUri without any request to it', async () => {
      for (const next of [`${foreign.origin}${FEED}/subscriptions/content?nextPage=1`, `${srv.origin.replace('https:', 'http:')}${FEED}/subscriptions/content?nextPage=1`]) {
        srv.seen.length = 0;
        srv.handler = (_q, res) => json(res, 200, [ref(srv.origin, 'a')], { NextPageUri: next });
        const now = Date.now();
        const seenPages: ContentRef[][] = [];
        await assert.rejects(
          (async () => {
            for await (const p of api().listContent('Audit.General', new Date(now - 3_600_000), new Date(now))) seenPages.push(p);
          })(),
          (e: BridgeError) => e.code === 'FOREIGN_HOST' && !e.retryable,
        );
        assert.equal(seenPages.length, 1);
        assert.equal(srv.seen.length, 1);
      }
      assert.equal(foreign.seen.length, 0);
    });

    it('drops a queued next-page link whose start aged past 7 days and re-lists from a fresh start', async () => {
      let now = Date.now();
      const clock = () => now;
      srv.handler = (req, res) => {
        const q = query(req.url!);
        if (!q.get('nextPage')) {
          json(res, 200, [ref(srv.origin, 'p0')], {
            NextPageUri: `${srv.origin}${FEED}/subscriptions/content?contentType=Audit.General&startTime=${q.get('startTime')}&endTime=${q.get('endTime')}&nextPage=1`,
          });
        } else json(res, 200, [ref(srv.origin, 'p1')]);
      };
      const start = new Date(now - MAX_AGE_MS + WINDOW_SAFETY_MARGIN_MS + 60_000);
      const it = api({ clock }).listContent('Audit.General', start, new Date(+start + 3_600_000))[Symbol.asyncIterator]();
      assert.equal((await it.next()).value![0].contentId, 'p0');
      now += 11 * 60_000; // the poller took a while with page 1: the link's start is now within a minute of the limit
      const second = await it.next();
      assert.equal(second.value![0].contentId, 'p0'); // re-listed from the start
      assert.equal(srv.seen.length, 2);
      assert.equal(query(srv.seen[1].url).get('nextPage'), null);
      assert.ok(parseApiTime(query(srv.seen[1].url).get('startTime')!)! > +start);
      const third = await it.next();
      assert.equal(third.value![0].contentId, 'p1');
      assert.equal((await it.next()).done, true);
    });

    it('re-lists once when a next page is refused with AF20055, and gives up after a bounded number', async () => {
      let refusals = 0;
      srv.handler = (req, res) => {
        const q = query(req.url!);
        if (q.get('nextPage')) {
          refusals++;
          return afError(res, 400, 'AF20055', 'Start time cannot be more than 7 days in the past.');
        }
        json(res, 200, [ref(srv.origin, 'x')], { NextPageUri: `${srv.origin}${FEED}/subscriptions/content?nextPage=1&startTime=${q.get('startTime')}` });
      };
      const now = Date.now();
      await assert.rejects(pages(api().listContent('Audit.General', new Date(now - 3_600_000), new Date(now))), (e: BridgeError) => e.code === 'API_BAD_WINDOW');
      assert.ok(refusals >= 2 && refusals <= 5, `refusals ${refusals}`);
      assert.equal(delays.length, 0, 'never retried as if transient');
    });

    it('fails (does not end quietly) when next-page links keep arriving already aged', async () => {
      srv.handler = (_req, res) => {
        const old = formatApiTime(Date.now() - 8 * 86_400_000);
        json(res, 200, [ref(srv.origin, 'x')], { NextPageUri: `${srv.origin}${FEED}/subscriptions/content?contentType=Audit.General&startTime=${old}&nextPage=1` });
      };
      const now = Date.now();
      await assert.rejects(pages(api().listContent('Audit.General', new Date(now - 3_600_000), new Date(now))), (e: BridgeError) => e.code === 'API_BAD_WINDOW');
      assert.ok(srv.seen.length <= 5, `bounded: ${srv.seen.length} requests`);
      assert.ok(srv.seen.every((s) => query(s.url).get('nextPage') === null), 'aged links never followed');
    });

    it('warns once when nothing is listed in any content type for 24 hours of real time (audit logging off?)', async () => {
      srv.handler = (_q, res) => json(res, 200, []);
      const log = memoryLogger();
      const client = api({ logger: log });
      const t0 = fake.now;
      const H = 3_600_000;
      // 30 h of windows listed at once: no real time has passed, no warning (windows are not time).
      for (let h = 30; h > 0; h -= 6) await pages(client.listContent('Audit.Exchange', new Date(t0 - h * H), new Date(t0 - (h - 6) * H)));
      const warns = () => log.lines.filter((l) => /no content listed for 24 hours/.test(l));
      assert.equal(warns().length, 0);
      fake.now = t0 + 24 * H - 1000;
      await pages(client.listContent('Audit.Exchange', new Date(fake.now - 3 * H), new Date(fake.now)));
      assert.equal(warns().length, 0);
      fake.now = t0 + 24 * H;
      await pages(client.listContent('Audit.Exchange', new Date(fake.now - 3 * H), new Date(fake.now)));
      fake.now += H;
      await pages(client.listContent('Audit.Exchange', new Date(fake.now - 3 * H), new Date(fake.now)));
      assert.equal(warns().length, 1, 'once');
      assert.match(warns()[0], /unified audit logging/);
    });

    it('does not warn after overlapping empty trailing re-lists while another content type delivers (the reported false alarm)', async () => {
      const H = 3_600_000;
      srv.handler = (req, res) => json(res, 200, query(req.url!).get('contentType') === 'Audit.General' ? [ref(srv.origin, 'g1')] : []);
      const log = memoryLogger();
      const client = api({ logger: log });
      await pages(client.listContent('Audit.General', new Date(fake.now - 3 * H), new Date(fake.now)));
      // Eight empty 180-minute passes of another content type, minutes apart (the old rule added them up to 24 h).
      for (let i = 0; i < 8; i++) {
        fake.now += 5 * 60_000;
        await pages(client.listContent('DLP.All', new Date(fake.now - 3 * H), new Date(fake.now)));
      }
      assert.equal(log.lines.filter((l) => /no content listed for 24 hours/.test(l)).length, 0);
    });
  });

  describe('retries and errors', () => {
    it('honours Retry-After through a 429 storm, then succeeds', async () => {
      let n = 0;
      srv.handler = (_q, res) => (++n <= 4 ? afError(res, 429, 'AF429', 'Too many requests.', { 'Retry-After': '7' }) : json(res, 200, []));
      assert.deepEqual(await api().listSubscriptions(), []);
      assert.equal(n, 5);
      assert.equal(delays.length, 4);
      assert.equal(delays[0], 7000);
      for (const d of delays) assert.ok(d >= 7000, `waited ${d} < Retry-After`);
    });

    it('treats HTTP 403 + AF429 as throttling (retried), not a permission error', async () => {
      let n = 0;
      srv.handler = (_q, res) => (++n <= 2 ? afError(res, 403, 'AF429', 'Too many requests. Method=GetBlob, PublisherId=x') : json(res, 200, []));
      assert.deepEqual(await api().listSubscriptions(), []);
      assert.equal(n, 3);
      assert.equal(delays.length, 2);
      assert.ok(delays[1] > delays[0], 'exponential');
    });

    it('fails at once on 403 AF10001 with the missing permission named', async () => {
      srv.handler = (_q, res) => afError(res, 403, 'AF10001', 'The permission set (ActivityReports.Read) sent in the request does not include the expected permission.');
      await assert.rejects(api().listSubscriptions(), (e: BridgeError) => {
        assert.equal(e.code, 'API_FORBIDDEN');
        assert.match(e.message, /ActivityFeed\.Read/);
        assert.match(e.message, /AF10001/);
        return true;
      });
      assert.equal(srv.seen.length, 1);
      assert.equal(delays.length, 0);
    });

    it('retries AF50000 / 5xx and connection resets', async () => {
      let n = 0;
      srv.handler = (req, res) => {
        n++;
        if (n === 1) return afError(res, 500, 'AF50000', 'An internal error occurred. Retry the request.');
        if (n === 2) return req.socket.destroy();
        if (n === 3) return json(res, 503, {});
        json(res, 200, [{ contentType: 'Audit.General', status: 'enabled', webhook: null }]);
      };
      const subs = await api().listSubscriptions();
      assert.equal(subs[0].status, 'enabled');
      assert.equal(n, 4);
      assert.equal(delays.length, 3);
    });

    it('retries a 200 whose body is not JSON, then names the URI', async () => {
      srv.handler = (_q, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html>proxy login</html>');
      };
      await assert.rejects(api({ retry: { maxAttempts: 3 } }).listSubscriptions(), (e: BridgeError) => {
        assert.equal(e.code, 'API_SERVER');
        assert.match(e.message, /not JSON/);
        assert.match(e.message, /subscriptions\/list/);
        return true;
      });
      assert.equal(srv.seen.length, 3);
    });

    it('times out a hanging request and retries it', async () => {
      const quick = createHttpStack({ caPem: srv.caPem, env: {}, timeoutMs: 200 });
      let n = 0;
      srv.handler = (_q, res) => (++n === 1 ? undefined : json(res, 200, []));
      try {
        assert.deepEqual(await api({ http: quick }).listSubscriptions(), []);
        assert.equal(n, 2);
      } finally {
        quick.close();
      }
    });

    it('renews the token once on 401 and retries; a second 401 fails', async () => {
      srv.handler = (req, res) => (req.headers.authorization === 'Bearer token-1-abcdefghijkl' ? json(res, 401, {}) : json(res, 200, []));
      assert.deepEqual(await api().listSubscriptions(), []);
      assert.deepEqual(tokens.calls, [false, true]);
      tokens.calls.length = 0;
      srv.handler = (_q, res) => json(res, 401, { error: { code: 'InvalidToken', message: 'nope' } });
      await assert.rejects(api().listSubscriptions(), (e: BridgeError) => e.code === 'API_UNAUTHORIZED');
      assert.deepEqual(tokens.calls, [false, true]);
    });

    it('never puts the token in an error or log line', async () => {
      const log = memoryLogger();
      srv.handler = (_q, res) => afError(res, 500, 'AF50000', 'boom');
      await assert.rejects(api({ logger: log, retry: { maxAttempts: 3 } }).listSubscriptions(), (e: BridgeError) => {
        const text = JSON.stringify({ m: e.message, d: e.details, s: e.stack, c: String(e.cause ?? '') });
        assert.ok(!text.includes(tokens.current));
        return true;
      });
      assert.ok(log.lines.length >= 2);
      for (const l of log.lines) assert.ok(!l.includes('abcdefghijkl'), l);
    });
  });

  describe('subscriptions', () => {
    it('starts what is not enabled, treats AF20024 as success, reports AF20023 and respects the 15-minute rule', async () => {
      let now = Date.now();
      const started: string[] = [];
      srv.handler = (req, res) => {
        const p = path(req.url!);
        const ct = query(req.url!).get('contentType');
        if (p.endsWith('/subscriptions/list')) {
          return json(res, 200, [
            { contentType: 'Audit.General', status: 'enabled', webhook: null },
            { contentType: 'Audit.Exchange', status: 'disabled', webhook: null },
            { contentType: 'DLP.All', status: 'disabled', webhook: null },
          ]);
        }
        if (p.endsWith('/subscriptions/start') && req.method === 'POST') {
          started.push(ct!);
          if (ct === 'Audit.Exchange') return afError(res, 400, 'AF20023', 'The subscription was disabled by a tenant admin.');
          if (ct === 'DLP.All') return afError(res, 400, 'AF20024', 'The subscription is already enabled. No property change.');
          return json(res, 200, { contentType: ct, status: 'enabled', webhook: null });
        }
        json(res, 404, {});
      };
      const log = memoryLogger();
      const client = api({ clock: () => now, logger: log });
      const out = await client.ensureSubscriptions(['Audit.General', 'Audit.Exchange', 'Audit.SharePoint', 'DLP.All']);
      assert.deepEqual(started.sort(), ['Audit.Exchange', 'Audit.SharePoint', 'DLP.All']);
      const by = Object.fromEntries(out.map((s) => [s.contentType, s]));
      assert.equal(by['Audit.General'].status, 'enabled');
      assert.equal(by['Audit.SharePoint'].status, 'enabled');
      assert.equal(by['DLP.All'].status, 'enabled');
      assert.equal(by['Audit.Exchange'].status, 'disabled');
      assert.equal(by['Audit.Exchange'].error?.code, 'API_SUBSCRIPTION_DISABLED');
      assert.ok(log.lines.some((l) => /subscription could not be enabled/.test(l) && /AF20023/.test(l)));
      // Within 15 minutes: no new start requests.
      started.length = 0;
      now += START_INTERVAL_MS - 60_000;
      await client.ensureSubscriptions(['Audit.Exchange']);
      assert.deepEqual(started, []);
      now += 2 * 60_000;
      await client.ensureSubscriptions(['Audit.Exchange']);
      assert.deepEqual(started, ['Audit.Exchange']);
    });

    it('lists before starting: an enabled subscription gets no start request', async () => {
      srv.handler = (req, res) => {
        if (path(req.url!).endsWith('/subscriptions/list')) return json(res, 200, [{ contentType: 'Audit.General', status: 'enabled', webhook: null }]);
        json(res, 500, {});
      };
      const out = await api().ensureSubscriptions(['Audit.General']);
      assert.deepEqual(out.map((s) => s.status), ['enabled']);
      assert.deepEqual(srv.seen.map((s) => `${s.method} ${path(s.url).split('/feed/')[1]}`), ['GET subscriptions/list']);
    });

    it('a 429 "too many frequent subscription start requests" means wait: not retried, not a failure, no new start before the time it names', async () => {
      let startCalls = 0;
      srv.handler = (req, res) => {
        const p = path(req.url!);
        if (p.endsWith('/subscriptions/list')) return json(res, 200, []);
        if (p.endsWith('/subscriptions/start')) {
          startCalls++;
          return afError(res, 429, 'AF429', 'Too many frequent subscription start requests. Please retry again after 14m 56s');
        }
        json(res, 404, {});
      };
      const log = memoryLogger();
      const t0 = fake.now;
      const client = api({ logger: log });
      const out = await client.ensureSubscriptions(['Audit.General']);
      assert.equal(startCalls, 1, 'one start request, no retry');
      assert.equal(out[0].status, 'pending');
      assert.equal(out[0].error, undefined);
      assert.ok(out[0].notBefore! >= t0 + START_INTERVAL_MS, 'at least 15 minutes after the request');
      assert.ok(log.lines.some((l) => /too frequent/.test(l)));
      fake.now = t0 + 14 * 60_000;
      assert.equal((await client.ensureSubscriptions(['Audit.General']))[0].status, 'pending');
      assert.equal(startCalls, 1, 'no start request within the wait');
      fake.now = t0 + 16 * 60_000;
      await client.ensureSubscriptions(['Audit.General']);
      assert.equal(startCalls, 2);
      // Called directly (the subscriptions command), it is a clear, non-retryable error.
      fake.now += START_INTERVAL_MS;
      await assert.rejects(client.startSubscription('Audit.General'), (e: BridgeError) => e.code === 'API_THROTTLED' && !e.retryable && /15 minutes apart/.test(e.message));
      assert.equal(startCalls, 3);
    });

    it('never starts the same content type twice within 15 minutes across restarts (the start log in the state dir)', async () => {
      const dir = fs.mkdtempSync(pathMod.join(os.tmpdir(), 'o365fb-starts-'));
      try {
        let startCalls = 0;
        srv.handler = (req, res) => {
          const p = path(req.url!);
          if (p.endsWith('/subscriptions/list')) return json(res, 200, [{ contentType: 'Audit.General', status: 'disabled', webhook: null }]);
          if (p.endsWith('/subscriptions/start')) {
            startCalls++;
            return json(res, 200, { contentType: 'Audit.General', status: 'enabled', webhook: null });
          }
          json(res, 404, {});
        };
        const t0 = fake.now;
        const first = new FileStartLog(dir, undefined, () => fake.now);
        await first.load();
        assert.equal((await api({ subscriptionStarts: first }).ensureSubscriptions(['Audit.General']))[0].status, 'enabled');
        assert.equal(startCalls, 1);
        // A new process (the list still says disabled, e.g. not propagated yet): no second start.
        fake.now = t0 + 5 * 60_000;
        const second = new FileStartLog(dir, undefined, () => fake.now);
        await second.load();
        const out = await api({ subscriptionStarts: second }).ensureSubscriptions(['Audit.General']);
        assert.equal(out[0].status, 'pending');
        assert.equal(out[0].notBefore, t0 + START_INTERVAL_MS);
        assert.equal(startCalls, 1);
        fake.now = t0 + START_INTERVAL_MS;
        const third = new FileStartLog(dir, undefined, () => fake.now);
        await third.load();
        await api({ subscriptionStarts: third }).ensureSubscriptions(['Audit.General']);
        assert.equal(startCalls, 2);
        const saved = JSON.parse(fs.readFileSync(pathMod.join(dir, 'subscriptions.json'), 'utf8'));
        assert.equal(saved.starts[`${TENANT}|Audit.General`].outcome, 'started');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('records the start before it is sent: a request that fails still counts for the 15 minutes', async () => {
      let startCalls = 0;
      srv.handler = (req, res) => {
        const p = path(req.url!);
        if (p.endsWith('/subscriptions/list')) return json(res, 200, []);
        if (p.endsWith('/subscriptions/start')) {
          startCalls++;
          return afError(res, 400, 'AF20020', 'The specified content type is not valid.');
        }
        json(res, 404, {});
      };
      const log = new MemoryStartLog();
      const out = await api({ subscriptionStarts: log }).ensureSubscriptions(['Audit.General']);
      assert.equal(out[0].error?.code, 'API_BAD_REQUEST');
      assert.equal(log.get(TENANT, 'Audit.General')?.outcome, 'sent');
      await api({ subscriptionStarts: log }).ensureSubscriptions(['Audit.General']);
      assert.equal(startCalls, 1);
    });

    it('reads the wait out of the refusal message', () => {
      assert.equal(parseStartWait('Too many frequent subscription start requests. Please retry again after 14m 56s'), (14 * 60 + 56) * 1000);
      assert.equal(parseStartWait('Please retry again after 1h 2m'), 62 * 60_000);
      assert.equal(parseStartWait('retry after 30s'), 30_000);
      assert.equal(parseStartWait('Too many requests.'), undefined);
      assert.equal(parseStartWait(undefined), undefined);
    });

    it('stops a subscription', async () => {
      srv.handler = (_q, res) => {
        res.statusCode = 200;
        res.end();
      };
      await api().stopSubscription('Audit.General');
      assert.equal(srv.seen[0].method, 'POST');
      assert.equal(path(srv.seen[0].url), `${FEED}/subscriptions/stop`);
      assert.equal(query(srv.seen[0].url).get('contentType'), 'Audit.General');
    });

    it('says the tenant may have audit logging off when the API says it does not exist', async () => {
      srv.handler = (_q, res) =>
        afError(res, 400, 'StartSubscription [TenantId=x] failed. Exception', 'Microsoft.Office.Compliance.Audit.DataServiceException: Tenant x does not exist.');
      await assert.rejects(api().startSubscription('Audit.General'), (e: BridgeError) => e.code === 'API_TENANT' && /unified audit logging/.test(e.message));
    });
  });

  describe('blobs', () => {
    it('a blob that stalls after its headers, or trickles, fails with API_TIMEOUT (idle and total deadlines on the body)', async () => {
      const timers: NodeJS.Timeout[] = [];
      srv.handler = (req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write('[{"Id":"a"}');
        if (req.url!.includes('trickle')) {
          const t = setInterval(() => res.write(' '), 300);
          timers.push(t);
          res.on('close', () => clearInterval(t));
        }
      };
      try {
        for (const which of ['stall', 'trickle']) {
          const body = await api().fetchBlob(`${srv.origin}${FEED}/audit/${which}`);
          await assert.rejects(collect(body), (e: BridgeError) => e.code === 'API_TIMEOUT' && e.retryable && /timed out/.test(e.message), which);
        }
      } finally {
        for (const t of timers) clearInterval(t);
      }
    });

    it('a body held back by a slow reader is not timed out', async () => {
      const big = '[' + Array.from({ length: 4000 }, (_, i) => JSON.stringify({ Id: `r${i}`, Pad: 'x'.repeat(200) })).join(',') + ']';
      srv.handler = (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(big);
      };
      const body = await api().fetchBlob(`${srv.origin}${FEED}/audit/slow-reader`);
      const chunks: Buffer[] = [];
      for await (const c of body) {
        chunks.push(c as Buffer);
        // The sink is slow: the reader waits far longer in total than the 2 s idle deadline.
        await new Promise((r) => setTimeout(r, 150));
      }
      assert.equal(Buffer.concat(chunks).toString(), big);
    });

    const records = JSON.stringify([{ Id: '1', RecordType: 28 }, { Id: '2', RecordType: 41 }]);

    it('streams a blob, with PublisherIdentifier', async () => {
      srv.handler = (_q, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(records) });
        res.end(records);
      };
      const body = await collect(await api().fetchBlob(`${srv.origin}${FEED}/audit/abc$def`));
      assert.equal(body.toString(), records);
      assert.equal(query(srv.seen[0].url).get('PublisherIdentifier'), TENANT);
      assert.equal(path(srv.seen[0].url), `${FEED}/audit/abc$def`);
    });

    it('counts a blob\'s bytes in bytes_fetched: all of them, whole or cut short, reported in a few calls', async () => {
      const counted: number[] = [];
      const metrics = { apiRequest: () => undefined, throttled: () => undefined, retry: () => undefined, bytesFetched: (_t: string, n: number) => void counted.push(n) };
      const big = '[' + Array.from({ length: 12000 }, (_, i) => JSON.stringify({ Id: `r${i}`, Pad: 'x'.repeat(200) })).join(',') + ']';
      srv.handler = (req, res) => {
        if (req.url!.includes('cut')) {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': 100_000 });
          res.write(big.slice(0, 50_000));
          setTimeout(() => req.socket.destroy(), 20);
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(big) });
        res.end(big);
      };
      const whole = await collect(await api({ metrics }).fetchBlob(`${srv.origin}${FEED}/audit/whole`));
      assert.equal(whole.length, Buffer.byteLength(big));
      assert.equal(counted.reduce((a, b) => a + b, 0), whole.length);
      // ~2.5 MB in 16 KiB pieces: per MiB and at the end, not per piece.
      assert.ok(counted.length <= 4, `${counted.length} calls`);
      counted.length = 0;
      const s = await api({ metrics }).fetchBlob(`${srv.origin}${FEED}/audit/cut`);
      await assert.rejects(collect(s), (e: BridgeError) => e.code === 'BLOB_MALFORMED');
      await new Promise((r) => setImmediate(r));
      assert.equal(counted.reduce((a, b) => a + b, 0), 50_000);
    });

    it('decodes a gzip blob', async () => {
      const gz = zlib.gzipSync(records);
      srv.handler = (_q, res) => {
        res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': gz.length });
        res.end(gz);
      };
      assert.equal((await collect(await api().fetchBlob(`${srv.origin}${FEED}/audit/gz`))).toString(), records);
    });

    it('refuses a foreign-host contentUri without any request', async () => {
      await assert.rejects(api().fetchBlob(`${foreign.origin}${FEED}/audit/x`), (e: BridgeError) => e.code === 'FOREIGN_HOST');
      await assert.rejects(api().fetchBlob(`http://127.0.0.1:${new URL(srv.origin).port}${FEED}/audit/x`), (e: BridgeError) => e.code === 'FOREIGN_HOST');
      assert.equal(foreign.seen.length, 0);
      assert.equal(srv.seen.length, 0);
    });

    it('refuses an oversize blob by Content-Length before reading it', async () => {
      srv.handler = (_q, res) => {
        res.writeHead(200, { 'content-length': 5000 });
        res.end('['.padEnd(5000, ' '));
      };
      await assert.rejects(api({ maxBlobBytes: 1000 }).fetchBlob(`${srv.origin}${FEED}/audit/big`), (e: BridgeError) => e.code === 'BLOB_TOO_LARGE' && !e.retryable);
    });

    it('stops a chunked blob at the size limit with a stream error', async () => {
      srv.handler = (_q, res) => {
        res.writeHead(200, { 'content-type': 'application/json' }); // chunked, no length
        res.write('[');
        for (let i = 0; i < 100; i++) res.write(JSON.stringify({ Id: i, pad: 'x'.repeat(100) }) + ',');
        res.end('{}]');
      };
      const s = await api({ maxBlobBytes: 2000 }).fetchBlob(`${srv.origin}${FEED}/audit/big2`);
      await assert.rejects(collect(s), (e: BridgeError) => e.code === 'BLOB_TOO_LARGE' && /audit\/big2/.test(e.message));
      assert.ok(s.destroyed);
    });

    it('surfaces a truncated blob as BLOB_MALFORMED naming the URI', async () => {
      srv.handler = (req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': records.length * 2 });
        res.write(records);
        setImmediate(() => req.socket.destroy());
      };
      const s = await api().fetchBlob(`${srv.origin}${FEED}/audit/trunc?sig=secretish`);
      await assert.rejects(collect(s), (e: BridgeError) => {
        assert.equal(e.code, 'BLOB_MALFORMED');
        assert.match(e.message, /audit\/trunc/);
        assert.doesNotMatch(e.message, /secretish/);
        return true;
      });
    });

    it('refuses a body that is not a JSON array', async () => {
      srv.handler = (_q, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html>login</html>');
      };
      await assert.rejects(collect(await api().fetchBlob(`${srv.origin}${FEED}/audit/html`)), (e: BridgeError) => e.code === 'BLOB_MALFORMED');
    });

    it('maps expired / missing content to CONTENT_EXPIRED without retrying', async () => {
      srv.handler = (_q, res) => afError(res, 410, 'AF20051', 'Content requested with the key x has already expired.');
      await assert.rejects(api().fetchBlob(`${srv.origin}${FEED}/audit/old`), (e: BridgeError) => e.code === 'CONTENT_EXPIRED' && !e.retryable && e.details.afCode === 'AF20051');
      srv.handler = (_q, res) => {
        res.statusCode = 404;
        res.end();
      };
      await assert.rejects(api().fetchBlob(`${srv.origin}${FEED}/audit/gone`), (e: BridgeError) => e.code === 'CONTENT_EXPIRED');
      assert.equal(srv.seen.length, 2);
      assert.equal(delays.length, 0);
    });

    it('retries a throttled blob fetch (403 AF429) then streams it', async () => {
      let n = 0;
      srv.handler = (_q, res) => {
        if (++n === 1) return afError(res, 403, 'AF429', 'Too many requests. Method=GetBlob', { 'Retry-After': '2' });
        res.writeHead(200, { 'content-length': Buffer.byteLength(records) });
        res.end(records);
      };
      assert.equal((await collect(await api().fetchBlob(`${srv.origin}${FEED}/audit/t`))).toString(), records);
      assert.equal(delays.length, 1);
      assert.ok(delays[0] >= 2000);
    });

    it('aborts a download when the signal fires', async () => {
      srv.handler = (_q, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('[');
      };
      const ac = new AbortController();
      const s = await api().fetchBlob(`${srv.origin}${FEED}/audit/slow`, ac.signal);
      const p = collect(s);
      ac.abort();
      await assert.rejects(p, (e: BridgeError) => e.code === 'API_NETWORK');
    });
  });

  describe('rate limiting', () => {
    it('paces requests to the per-tenant budget', async () => {
      let now = 5_000_000;
      const slept: number[] = [];
      srv.handler = (_q, res) => json(res, 200, []);
      const client = createActivityApi({
        tenantId: TENANT,
        apiRoot: srv.origin,
        tokens,
        http,
        requestsPerMinute: 60,
        clock: () => now,
        retry: {
          sleep: async (ms) => {
            slept.push(ms);
            now += ms;
          },
        },
      });
      const t0 = now;
      for (let i = 0; i < 10; i++) await client.listSubscriptions();
      // burst of 6 (a tenth of 60), then one per second
      assert.equal(srv.seen.length, 10);
      assert.equal(now - t0, 4000);
    });
  });
});
