/** Contract tests of the Activity API rules, driven with plain HTTP and an injected clock. */
import { strict as assert } from 'node:assert';
import { startEmulator, type Emulator } from '../../src/emulator';
import { DAY, HOUR, T0, api, iso, req, token, type Clock } from './support';

const GENERAL = 'Audit.General';

function assertAfError(r: { status: number; json: any }, status: number, code: string): void {
  assert.equal(r.status, status, JSON.stringify(r.json));
  assert.deepEqual(Object.keys(r.json), ['error']);
  assert.deepEqual(Object.keys(r.json.error), ['code', 'message']);
  assert.equal(r.json.error.code, code);
  assert.equal(typeof r.json.error.message, 'string');
}

describe('emulator: Activity API contract', () => {
  const clock: Clock = { now: T0 };
  let em: Emulator;
  let tok: string;
  let a: ReturnType<typeof api>;

  beforeEach(async () => {
    clock.now = T0;
    em = await startEmulator({
      seed: 42,
      now: () => clock.now,
      historyHours: 48,
      tenants: 2,
      recordsPerHour: { 'Audit.General': 50 },
      recordsPerBlob: 10,
      enabledAtStart: [GENERAL],
    });
    tok = await token(em);
    a = api(em, tok);
  });
  afterEach(() => em.stop());

  describe('authorization', () => {
    it('needs a bearer token: 401 with WWW-Authenticate and the service message', async () => {
      const r = await req(`${a.base}/subscriptions/list`);
      assert.equal(r.status, 401);
      assert.equal(r.headers.get('www-authenticate'), 'Bearer');
      assert.deepEqual(r.json, { Message: 'Authorization has been denied for this request.' });
      const forged = await req(`${a.base}/subscriptions/list`, { headers: { Authorization: `Bearer ${tok.slice(0, -4)}AAAA` } });
      assert.equal(forged.status, 401);
    });

    it('rejects an expired token', async () => {
      clock.now += HOUR + 1000;
      assert.equal((await a.get('subscriptions/list')).status, 401);
    });

    it('checks the URL tenant: AF20013 when not a GUID, AF20010 when not the token tenant', async () => {
      assertAfError(await req(`${em.url}/api/v1.0/contoso/activity/feed/subscriptions/list`, { headers: { Authorization: `Bearer ${tok}` } }), 400, 'AF20013');
      const other = em.tenants[1].tenantId;
      const r = await req(`${em.url}/api/v1.0/${other}/activity/feed/subscriptions/list`, { headers: { Authorization: `Bearer ${tok}` } });
      assertAfError(r, 401, 'AF20010');
      assert.ok(r.json.error.message.includes(other) && r.json.error.message.includes(em.tenants[0].tenantId));
    });

    it('needs ActivityFeed.Read in the token: AF10001', async () => {
      const em2 = await startEmulator({ tenants: [{ tenantId: '0a0b0c0d-1111-4222-8333-444455556666', clientId: 'aaaabbbb-1111-4222-8333-444455556666', roles: [] }] });
      try {
        const r = await api(em2, await token(em2)).get('subscriptions/list');
        assertAfError(r, 401, 'AF10001');
      } finally {
        await em2.stop();
      }
    });
  });

  describe('subscriptions', () => {
    it('starts, lists, refuses a second start with AF20024, stops', async () => {
      const list0 = await a.get('subscriptions/list');
      assert.deepEqual(list0.json, [{ contentType: GENERAL, status: 'enabled', webhook: null }]);
      const s = await a.start('DLP.All');
      assert.equal(s.status, 200);
      assert.deepEqual(s.json, { contentType: 'DLP.All', status: 'enabled', webhook: null });
      clock.now += 15 * 60_000;
      tok = await token(em);
      a = api(em, tok);
      assertAfError(await a.start('DLP.All'), 400, 'AF20024');
      const stop = await a.post('subscriptions/stop?contentType=DLP.All');
      assert.equal(stop.status, 200);
      assert.equal(stop.text, '');
      assertAfError(await a.list('DLP.All'), 400, 'AF20022');
      assertAfError(await a.post('subscriptions/stop?contentType=DLP.All'), 400, 'AF20022');
      const list1 = await a.get('subscriptions/list');
      assert.deepEqual(list1.json.map((x: { contentType: string; status: string }) => [x.contentType, x.status]), [[GENERAL, 'enabled'], ['DLP.All', 'disabled']]);
      clock.now += 15 * 60_000;
      tok = await token(em);
      a = api(em, tok);
      assert.equal((await a.start('DLP.All')).status, 200);
    });

    it('refuses a start within 15 minutes of the last one with 429 "too many frequent subscription start requests", per tenant and content type', async () => {
      assert.equal((await a.start('DLP.All')).status, 200);
      clock.now += 4000;
      const r = await a.start('DLP.All');
      assertAfError(r, 429, 'AF429');
      assert.equal(r.json.error.message, 'Too many frequent subscription start requests. Please retry again after 14m 56s');
      // Another content type, or another tenant, has its own 15 minutes.
      assert.equal((await a.start('Audit.Exchange')).status, 200);
      const b = api(em, await token(em, em.tenants[1]), em.tenants[1]);
      assert.equal((await b.start('DLP.All')).status, 200);
      // A refused request does not restart the wait; after it, an enabled subscription answers AF20024.
      clock.now += 14 * 60_000 + 55_000;
      assert.match((await a.start('DLP.All')).json.error.message, /after 0m 1s$/);
      clock.now += 1000;
      assertAfError(await a.start('DLP.All'), 400, 'AF20024');
      // Invalid requests are refused before they count.
      assertAfError(await a.start('Audit.Everything'), 400, 'AF20020');
    });

    it('validates content types (AF20020, AF20001) and webhooks (AF20021, AF20003)', async () => {
      assertAfError(await a.start('Audit.Everything'), 400, 'AF20020');
      assertAfError(await a.post('subscriptions/start'), 400, 'AF20001');
      assertAfError(await a.list('audit.general'), 400, 'AF20020');
      assertAfError(await a.post('subscriptions/start?contentType=Audit.Exchange', JSON.stringify({ webhook: { address: 'http://hook.example/' } })), 400, 'AF20021');
      assertAfError(
        await a.post('subscriptions/start?contentType=Audit.Exchange', JSON.stringify({ webhook: { address: 'https://hook.example/', expiration: '2001-01-01T00:00:00Z' } })),
        400,
        'AF20003',
      );
      const ok = await a.post('subscriptions/start?contentType=Audit.Exchange', JSON.stringify({ webhook: { address: 'https://hook.example/', authId: 'x' } }));
      assert.equal(ok.json.webhook.status, 'enabled');
    });

    it('needs an enabled subscription to list (AF20022), and reports an admin-disabled one with AF20023 until restarted', async () => {
      assertAfError(await a.list('Audit.Exchange'), 400, 'AF20022');
      em.disableSubscription(em.tenants[0].tenantId, GENERAL);
      const r = await a.list(GENERAL);
      assertAfError(r, 400, 'AF20023');
      assert.match(r.json.error.message, /disabled by a service admin/);
      assert.equal((await a.get('subscriptions/list')).json[0].status, 'disabled');
      assert.equal((await a.start(GENERAL)).status, 200);
      assert.equal((await a.list(GENERAL)).status, 200);
    });

    it('accepts PublisherIdentifier everywhere and rejects one that is not a GUID', async () => {
      const pub = 'PublisherIdentifier=46b472a7-c68e-4adf-8ade-3db49497518e';
      assert.equal((await a.get(`subscriptions/list?${pub}`)).status, 200);
      const l = await a.get(`subscriptions/content?contentType=${GENERAL}&${pub}`);
      assert.equal(l.status, 200);
      assert.equal((await a.get(`${l.json[0].contentUri}?${pub}`)).status, 200);
      assertAfError(await a.get('subscriptions/list?PublisherIdentifier=acme'), 400, 'AF20002');
    });
  });

  describe('listing windows', () => {
    it('wants both times or neither (AF20030)', async () => {
      assertAfError(await a.list(GENERAL, iso(T0 - HOUR)), 400, 'AF20030');
      assertAfError(await a.list(GENERAL, undefined, iso(T0)), 400, 'AF20030');
    });

    it('refuses windows over 24 h, empty or inverted ones, and starts over 7 days back (AF20055)', async () => {
      assertAfError(await a.list(GENERAL, iso(T0 - DAY - 1000), iso(T0)), 400, 'AF20055');
      assertAfError(await a.list(GENERAL, iso(T0 - HOUR), iso(T0 - HOUR)), 400, 'AF20055');
      assertAfError(await a.list(GENERAL, iso(T0), iso(T0 - HOUR)), 400, 'AF20055');
      assertAfError(await a.list(GENERAL, iso(T0 - 7 * DAY - 60_000), iso(T0 - 7 * DAY + HOUR)), 400, 'AF20055');
      assert.equal((await a.list(GENERAL, iso(T0 - DAY), iso(T0))).status, 200, 'exactly 24 h is allowed');
      assert.equal((await a.list(GENERAL, iso(T0 - 7 * DAY + 60_000), iso(T0 - 6 * DAY))).status, 200);
    });

    it('accepts the documented formats (and a trailing Z or fraction), refuses others with AF20002', async () => {
      for (const [s, e] of [
        ['2025-03-10', '2025-03-11'],
        ['2025-03-10T01:00', '2025-03-10T09:30'],
        ['2025-03-10T01:00:00', '2025-03-10T09:30:00'],
        ['2025-03-10T01:00:00Z', '2025-03-10T09:30:00.000Z'],
      ]) {
        assert.equal((await a.list(GENERAL, s, e)).status, 200, `${s} .. ${e}`);
      }
      for (const bad of ['2025/03/10', '1741600000', '2025-03-10T01:00:00+01:00', '2025-02-30', 'yesterday']) {
        assertAfError(await a.list(GENERAL, bad, '2025-03-10T09:00:00'), 400, 'AF20002');
      }
    });

    it('selects on contentCreated, start inclusive and end exclusive', async () => {
      const all = (await a.list(GENERAL, iso(T0 - 10 * HOUR), iso(T0))).json as Array<{ contentId: string; contentCreated: string }>;
      assert.ok(all.length > 5);
      const pick = all[3];
      const c = Date.parse(pick.contentCreated);
      const at = (await a.list(GENERAL, iso(c), iso(c + 1000))).json.map((x: { contentId: string }) => x.contentId);
      assert.ok(at.includes(pick.contentId), 'start is inclusive');
      const before = (await a.list(GENERAL, iso(c - HOUR), iso(c))).json.map((x: { contentId: string }) => x.contentId);
      assert.ok(!before.includes(pick.contentId), 'end is exclusive');
      for (const x of all) assert.ok(Date.parse(x.contentCreated) >= T0 - 10 * HOUR && Date.parse(x.contentCreated) < T0);
    });

    it('without times lists the last 24 h, and only content already available', async () => {
      const dflt = (await a.list(GENERAL)).json as Array<{ contentId: string; contentCreated: string }>;
      const explicit = (await a.list(GENERAL, iso(T0 - DAY), iso(T0))).json as Array<{ contentId: string }>;
      assert.deepEqual(dflt.map((x) => x.contentId), explicit.map((x) => x.contentId));
      assert.ok(dflt.every((x) => Date.parse(x.contentCreated) <= T0));
      const later = (await a.list(GENERAL, iso(T0 - HOUR), iso(T0 + HOUR))).json.length;
      clock.now += HOUR;
      const after = (await api(em, await token(em)).list(GENERAL, iso(T0 - HOUR), iso(T0 + HOUR))).json.length;
      assert.ok(after > later, `content appears as time passes (${later} → ${after})`);
    });

    it('lists exactly the documented fields, with .000Z timestamps and a 7-day expiration', async () => {
      const list = (await a.list(GENERAL, iso(T0 - 5 * HOUR), iso(T0))).json as Array<Record<string, string>>;
      for (const x of list) {
        assert.deepEqual(Object.keys(x), ['contentType', 'contentId', 'contentUri', 'contentCreated', 'contentExpiration']);
        assert.equal(x.contentType, GENERAL);
        assert.match(x.contentCreated, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z$/);
        assert.equal(Date.parse(x.contentExpiration) - Date.parse(x.contentCreated), 7 * DAY);
        assert.equal(x.contentUri, `${em.url}/api/v1.0/${em.tenants[0].tenantId}/activity/feed/audit/${x.contentId}`);
        assert.match(x.contentId, /^\d{12}\$\d{12}\$[0-9a-f]{32}gen\d{10}\$[0-9a-f]{32}\$04$/);
      }
    });
  });

  describe('paging', () => {
    async function allPages(first: string): Promise<{ ids: string[]; pages: number; uris: string[] }> {
      const ids: string[] = [];
      const uris: string[] = [];
      let next: string | null = first;
      let pages = 0;
      while (next) {
        const r = await a.get(next);
        assert.equal(r.status, 200, r.text);
        ids.push(...r.json.map((x: { contentId: string }) => x.contentId));
        pages++;
        next = r.headers.get('nextpageuri');
        if (next) uris.push(next);
      }
      return { ids, pages, uris };
    }

    it('pages through NextPageUri (same window, nextPage token) and covers the ledger exactly', async () => {
      await em.stop();
      em = await startEmulator({ seed: 42, now: () => clock.now, historyHours: 48, recordsPerHour: { 'Audit.General': 50 }, recordsPerBlob: 10, pageSize: 7, enabledAtStart: [GENERAL] });
      a = api(em, await token(em));
      const s = T0 - 20 * HOUR;
      const { ids, pages, uris } = await allPages(`subscriptions/content?contentType=${GENERAL}&startTime=${iso(s)}&endTime=${iso(T0)}`);
      const expected = em.ledger.blobs(em.tenants[0].tenantId, s, T0, { contentType: GENERAL, includeExpired: true });
      assert.equal(pages, Math.ceil(expected.length / 7));
      assert.deepEqual([...ids].sort(), expected.map((b) => b.contentId).sort());
      for (const u of uris) {
        assert.ok(u.startsWith(`${em.url}/api/v1.0/${em.tenants[0].tenantId}/activity/feed/subscriptions/content?contentType=${GENERAL}&startTime=${iso(s)}&endTime=${iso(T0)}&nextPage=`), u);
      }
    });

    it('fills in the 24 h window in NextPageUri when the request had none', async () => {
      await em.stop();
      em = await startEmulator({ seed: 42, now: () => clock.now, recordsPerHour: { 'Audit.General': 50 }, recordsPerBlob: 10, pageSize: 5, enabledAtStart: [GENERAL] });
      a = api(em, await token(em));
      const r = await a.list(GENERAL);
      assert.ok(new URL(r.headers.get('nextpageuri') as string).searchParams.get('startTime'), 'startTime filled in');
      const { ids } = await allPages(`subscriptions/content?contentType=${GENERAL}`);
      assert.equal(ids.length, em.ledger.blobs(em.tenants[0].tenantId, T0 - DAY, T0, { contentType: GENERAL, includeExpired: true }).length);
    });

    it('refuses a forged or foreign nextPage with AF20031', async () => {
      await em.stop();
      em = await startEmulator({ seed: 42, now: () => clock.now, recordsPerHour: { 'Audit.General': 50 }, recordsPerBlob: 10, pageSize: 5, enabledAtStart: [GENERAL] });
      a = api(em, await token(em));
      const next = new URL((await a.list(GENERAL, iso(T0 - 10 * HOUR), iso(T0))).headers.get('nextpageuri') as string);
      const tokenValue = next.searchParams.get('nextPage') as string;
      assertAfError(await a.list(GENERAL, iso(T0 - 10 * HOUR), `${iso(T0)}&nextPage=${tokenValue.slice(0, -1)}0`), 400, 'AF20031');
      assertAfError(await a.list(GENERAL, iso(T0 - 9 * HOUR), `${iso(T0)}&nextPage=${tokenValue}`), 400, 'AF20031');
      assertAfError(await a.list(GENERAL, iso(T0 - 10 * HOUR), `${iso(T0)}&nextPage=2015101900R022885001761`), 400, 'AF20031');
    });

    it('quirks: NextPageUri on /api/v1/ with a lower-case starttime, and the server follows it', async () => {
      await em.stop();
      em = await startEmulator({ seed: 42, now: () => clock.now, recordsPerHour: { 'Audit.General': 50 }, recordsPerBlob: 10, pageSize: 5, enabledAtStart: [GENERAL], quirks: { nextPageV1: true, lowercaseStartTime: true } });
      a = api(em, await token(em));
      const r = await a.list(GENERAL, iso(T0 - 10 * HOUR), iso(T0));
      const next = r.headers.get('nextpageuri') as string;
      assert.ok(next.includes('/api/v1/') && !next.includes('/api/v1.0/'), next);
      assert.ok(next.includes('&starttime=') && !next.includes('startTime='), next);
      const { ids } = await allPages(`subscriptions/content?contentType=${GENERAL}&startTime=${iso(T0 - 10 * HOUR)}&endTime=${iso(T0)}`);
      assert.equal(new Set(ids).size, em.ledger.blobs(em.tenants[0].tenantId, T0 - 10 * HOUR, T0, { contentType: GENERAL }).length);
    });
  });

  describe('content blobs', () => {
    it('serves a JSON array of records of the listed content', async () => {
      const [first] = (await a.list(GENERAL, iso(T0 - 3 * HOUR), iso(T0))).json;
      const r = await a.get(first.contentUri);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.ok(Array.isArray(r.json) && r.json.length === 10);
      assert.deepEqual(em.ledger.servedContentIds(em.tenants[0].tenantId), [first.contentId]);
      assert.equal(em.ledger.served().records, 10);
    });

    it('answers AF20052 for malformed content ids and AF20050 for ones that do not exist', async () => {
      const [first] = (await a.list(GENERAL, iso(T0 - 3 * HOUR), iso(T0))).json;
      assertAfError(await a.get('audit/not-a-content-id'), 400, 'AF20052');
      const id: string = first.contentId;
      const mangled = id.slice(0, -6) + (id.at(-6) === '0' ? '1' : '0') + id.slice(-5);
      assertAfError(await a.get(`audit/${mangled}`), 404, 'AF20050');
      // The same id on another tenant's URL (with that tenant's token) does not exist there.
      const t2 = em.tenants[1];
      const r = await req(`${em.url}/api/v1.0/${t2.tenantId}/activity/feed/audit/${id}`, { headers: { Authorization: `Bearer ${await token(em, t2)}` } });
      assertAfError(r, 404, 'AF20050');
    });

    it('answers AF20051 (410) once content is older than its expiration', async () => {
      const [first] = (await a.list(GENERAL, iso(T0 - 3 * HOUR), iso(T0))).json;
      clock.now = Date.parse(first.contentExpiration) + 1000;
      const r = await api(em, await token(em)).get(first.contentUri);
      assertAfError(r, 410, 'AF20051');
      assert.ok(r.json.error.message.includes(first.contentId));
    });

    it('does not serve content that is not available yet (AF20050)', async () => {
      // Content created after now exists in the plan but must not be reachable.
      const future = em.ledger.blobs(em.tenants[0].tenantId, T0, T0 + 2 * HOUR, { contentType: GENERAL, asOf: T0 + 3 * HOUR });
      assert.ok(future.length > 0);
      assertAfError(await a.get(future[0].contentUri), 404, 'AF20050');
    });
  });

  it('answers unknown operations and wrong methods like the service (404/405 with Message)', async () => {
    const r = await a.get('subscriptions/nothing');
    assert.equal(r.status, 404);
    assert.ok(r.json.Message);
    assert.equal((await a.get('subscriptions/start?contentType=Audit.General')).status, 405);
  });
});
