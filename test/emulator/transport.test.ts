/** Throttling (both styles), transport faults, HTTPS with the emulator's CA, and the CLI's argument handling. */
import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator';
import { main } from '../../src/commands/emulator';
import { HOUR, T0, api, httpsGet, httpsPost, iso, req, token, tokenForm } from './support';

async function withEmulator<T>(o: EmulatorOptions, fn: (em: Emulator) => Promise<T>): Promise<T> {
  const em = await startEmulator({ seed: 3, historyHours: 6, recordsPerBlob: 20, enabledAtStart: ['Audit.General'], ...o });
  try {
    return await fn(em);
  } finally {
    await em.stop();
  }
}

/** Raw GET that reports a reset or a cut body instead of throwing. */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status?: number; body: string; error?: string; declared?: number }> {
  return new Promise((resolve) => {
    const r = http.get(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8'), declared: Number(res.headers['content-length']) }));
      res.on('error', (e) => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8'), error: e.message, declared: Number(res.headers['content-length']) }));
      res.on('aborted', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8'), error: 'aborted', declared: Number(res.headers['content-length']) }));
    });
    r.on('error', (e) => resolve({ body: '', error: e.message }));
  });
}

describe('emulator: throttling', () => {
  it('answers over-budget requests with HTTP 403 AF429 per tenant, and refills each minute', async () => {
    const clock = { now: T0 };
    await withEmulator({ now: () => clock.now, requestsPerMinute: 5, tenants: 2 }, async (em) => {
      const a = api(em, await token(em));
      for (let i = 0; i < 5; i++) assert.equal((await a.get('subscriptions/list')).status, 200);
      const r = await a.get('subscriptions/list?PublisherIdentifier=46b472a7-c68e-4adf-8ade-3db49497518e');
      assert.equal(r.status, 403);
      assert.equal(r.json.error.code, 'AF429');
      assert.equal(r.json.error.message, 'Too many requests. Method=ListSubscriptions, PublisherId=46b472a7-c68e-4adf-8ade-3db49497518e');
      assert.equal(r.headers.get('retry-after'), null);
      const list = await api(em, await token(em, em.tenants[1]), em.tenants[1]).get('subscriptions/list');
      assert.equal(list.status, 200, 'another tenant has its own budget');
      clock.now += 60_000;
      assert.equal((await a.get('subscriptions/list')).status, 200);
      assert.equal(em.stats().throttled, 1);
      assert.equal(em.stats().byStatus['403'], 1);
    });
  });

  it('with throttleStatus 429 answers HTTP 429 with Retry-After (seconds to the next window)', async () => {
    const clock = { now: Math.floor(T0 / 60_000) * 60_000 + 45_000 };
    await withEmulator({ now: () => clock.now, requestsPerMinute: 2, throttleStatus: 429 }, async (em) => {
      const a = api(em, await token(em));
      await a.get('subscriptions/list');
      await a.get('subscriptions/list');
      const blob = await a.get('audit/000000000000$000000000000$00000000000000000000000000000000gen2025031000$00000000000000000000000000000000$04');
      assert.equal(blob.status, 429);
      assert.equal(blob.headers.get('retry-after'), '15');
      assert.equal(blob.json.error.code, 'AF429');
      assert.match(blob.json.error.message, /Method=GetBlob, PublisherId=00000000-0000-0000-0000-000000000000/);
    });
  });
});

describe('emulator: transport faults', () => {
  it('answers 500 AF50000 at serverErrorRate 1, and recovers when the fault is cleared', async () => {
    await withEmulator({ faults: { serverErrorRate: 1 } }, async (em) => {
      const a = api(em, await token(em));
      const r = await a.get('subscriptions/list');
      assert.equal(r.status, 500);
      assert.deepEqual(r.json, { error: { code: 'AF50000', message: 'An internal error occurred. Retry the request.' } });
      em.setFaults({ serverErrorRate: 0 });
      assert.equal((await a.get('subscriptions/list')).status, 200);
    });
  });

  it('resets connections at connectionResetRate 1', async () => {
    await withEmulator({ faults: { connectionResetRate: 1 } }, async (em) => {
      const tok = await token(em);
      const r = await rawGet(`${em.url}/api/v1.0/${em.tenants[0].tenantId}/activity/feed/subscriptions/list`, { Authorization: `Bearer ${tok}` });
      assert.ok(r.error, 'the request fails at the socket');
      assert.equal(r.status, undefined);
      assert.equal(em.stats().resets, 1);
    });
  });

  it('cuts blob bodies short at truncatedBlobRate 1 (full Content-Length announced) and serves them whole otherwise', async () => {
    await withEmulator({ faults: { truncatedBlobRate: 1 } }, async (em) => {
      const tok = await token(em);
      const a = api(em, tok);
      const [first] = (await a.list('Audit.General')).json;
      const cut = await rawGet(first.contentUri, { Authorization: `Bearer ${tok}` });
      assert.equal(cut.status, 200);
      assert.ok(cut.body.length < (cut.declared ?? 0), `${cut.body.length} of ${cut.declared} bytes`);
      assert.throws(() => JSON.parse(cut.body));
      assert.equal(em.ledger.servedContentIds().length, 0, 'a cut blob is not counted as served');
      em.setFaults({ truncatedBlobRate: 0 });
      const whole = await a.get(first.contentUri);
      assert.equal(whole.json.length, 20);
      assert.deepEqual(em.ledger.servedContentIds(), [first.contentId]);
    });
  });

  it('answers slowly at slowResponseRate 1 (observable as pending, not timed)', async () => {
    await withEmulator({ faults: { slowResponseRate: 1, slowResponseMs: 60_000 } }, async (em) => {
      const a = api(em, await token(em));
      let settled = false;
      const p = a.get('subscriptions/list').then(
        () => (settled = true),
        () => (settled = true),
      );
      // A 60 s delay cannot have elapsed by the time the listing below is refused too.
      await new Promise((r) => setImmediate(r));
      assert.equal(settled, false);
      await em.stop(); // stop() cancels the pending answer and closes the socket
      await p;
      assert.equal(settled, true);
    });
  });

  it('fails the token endpoint during an outage (503 temporarily_unavailable) and at tokenFailureRate', async () => {
    const clock = { now: T0 };
    await withEmulator({ now: () => clock.now, faults: { tokenOutageUntil: T0 + 60_000 } }, async (em) => {
      const url = `${em.url}/${em.tenants[0].tenantId}/oauth2/v2.0/token`;
      const r = await req(url, { method: 'POST', body: tokenForm(em.tenants[0], em.scope) });
      assert.equal(r.status, 503);
      assert.equal(r.json.error, 'temporarily_unavailable');
      clock.now = T0 + 61_000;
      assert.equal((await req(url, { method: 'POST', body: tokenForm(em.tenants[0], em.scope) })).status, 200);
      em.setFaults({ tokenFailureRate: 1 });
      assert.equal((await req(url, { method: 'POST', body: tokenForm(em.tenants[0], em.scope) })).status, 503);
    });
  });

  it('the faulty profile mixes data and transport faults', async () => {
    const clock = { now: T0 };
    await withEmulator({ now: () => clock.now, profile: 'faulty', historyHours: 24, recordsPerHour: { 'Audit.General': 400 }, faults: { slowResponseRate: 0 } }, async (em) => {
      const t = em.tenants[0].tenantId;
      const blobs = em.ledger.blobs(t, T0 - 24 * HOUR, T0, { includeExpired: true, asOf: T0 + HOUR });
      assert.ok(blobs.some((b) => b.late) && blobs.some((b) => b.listedTwice) && blobs.some((b) => b.duplicateRecord) && blobs.some((b) => b.expired));
      assert.ok(em.ledger.recordIds(t, T0 - 24 * HOUR, T0).invalid.length > 0);
      const a = api(em, await token(em).catch(() => token(em)).catch(() => token(em)));
      const statuses = new Set<number>();
      for (let i = 0; i < 150; i++) {
        const r = await a.list('Audit.General', iso(T0 - 2 * HOUR), iso(T0)).catch(() => ({ status: -1 }));
        statuses.add(r.status);
      }
      assert.ok(statuses.has(200) && statuses.has(500), [...statuses].join(','));
    });
  });
});

describe('emulator: HTTPS', () => {
  it('serves the API and the authority over TLS trusted through the CA it exposes', async () => {
    await withEmulator({ https: true }, async (em) => {
      assert.ok(em.url.startsWith('https://127.0.0.1:'));
      assert.match(em.ca ?? '', /^-----BEGIN CERTIFICATE-----/);
      const t = em.tenants[0];
      const tok = await httpsPost(`${em.url}/${t.tenantId}/oauth2/v2.0/token`, em.ca as string, tokenForm(t, em.scope).toString());
      assert.equal(tok.status, 200);
      const list = await httpsGet(`${em.url}/api/v1.0/${t.tenantId}/activity/feed/subscriptions/content?contentType=Audit.General`, em.ca as string, {
        Authorization: `Bearer ${JSON.parse(tok.body).access_token}`,
      });
      assert.equal(list.status, 200);
      assert.ok(JSON.parse(list.body)[0].contentUri.startsWith(`${em.url}/api/v1.0/`));
      await assert.rejects(
        httpsGet(`${em.url}/common/discovery/instance`, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'),
        'a client that does not trust the CA is refused',
      );
      await assert.rejects(fetch(`${em.url}/common/discovery/instance`), 'nor does the default trust store know it');
    });
  });
});

describe('emulator: command', () => {
  it('prints usage for --help and refuses unknown options', async () => {
    const write = process.stderr.write;
    const seen: string[] = [];
    process.stderr.write = ((s: string) => {
      seen.push(String(s));
      return true;
    }) as typeof process.stderr.write;
    try {
      assert.equal(await main(['--help']), 0);
      assert.equal(await main(['--bogus']), 2);
      assert.equal(await main(['--profile', 'nope']), 2);
      assert.equal(await main(['--port', '-1']), 2);
    } finally {
      process.stderr.write = write;
    }
    assert.ok(seen.some((s) => s.includes('usage: o365-fluent-bridge emulator')));
    assert.ok(seen.some((s) => s.includes('unknown option "--bogus"')));
  });
});
