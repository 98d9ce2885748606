/**
 * API faults against the real CLI: throttling, server errors, resets, truncated bodies, expired and
 * late content, duplicates, a token endpoint outage, a subscription disabled mid-run.
 * Lost must be 0 except for content the API itself lost (expired before it was fetched).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { addRow, delay, expectClean as expectDelivered, LONG, printTableAtEnd, Scenario, waitUntil } from '../support/faults-harness';

printTableAtEnd();

const PASS_DONE = /"msg":"pass done"/;

describe('faults: the API', function () {
  let s: Scenario | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  const expectClean = (sc: Scenario, o: { note?: string; maxDuplicates?: number } = {}) => expectDelivered(sc, { ...o, noLossAtSource: true });

  it('baseline: a clean API delivers everything exactly once', async () => {
    s = await Scenario.start('baseline (no faults)');
    const r = await s.runToEnd();
    assert.equal((await r.exited).code, 0, r.out.slice(-2000));
    expectClean(s, { maxDuplicates: 0 });
    // The scan itself works: a token planted in the state dir is found.
    fs.writeFileSync(path.join(s.stateDir, 'planted.txt'), `x ${[...s.front.tokens][0]} x`);
    assert.deepEqual(s.secretLeaks(), ['state file planted.txt contains a bearer token']);
    fs.rmSync(path.join(s.stateDir, 'planted.txt'));
  });

  it('a 429 storm with Retry-After: waits as told, then delivers everything', async () => {
    s = await Scenario.start('API: 429 storm with Retry-After');
    let stormUntil = 0;
    let throttled = 0;
    s.front.hooks.replace = (r) => {
      if (r.route === 'token' || r.route === 'other') return undefined;
      // The storm starts with the first blob request and lasts 3 s: every API call is refused.
      if (r.route === 'blob' && stormUntil === 0) stormUntil = Date.now() + 3000;
      if (Date.now() >= stormUntil && stormUntil !== 0) return undefined;
      if (stormUntil === 0) return undefined;
      throttled++;
      return {
        status: 429,
        headers: { 'Retry-After': '1' },
        body: JSON.stringify({ error: { code: 'AF429', message: 'Too many requests. Method=GetBlob, PublisherId=00000000-0000-0000-0000-000000000000' } }),
      };
    };
    const r = await s.runToEnd();
    assert.equal((await r.exited).code, 0, r.out.slice(-2000));
    assert.ok(throttled > 0, 'the storm refused requests');
    assert.ok(r.logs('retrying').some((l) => l.code === 'API_THROTTLED'), 'throttling was retried (and logged)');
    expectClean(s, { note: `${throttled} requests refused`, maxDuplicates: 0 });
  });

  it('5xx bursts: every failed call is retried; nothing is skipped', async () => {
    s = await Scenario.start('API: 5xx bursts (25% of calls)', { emulator: { faults: { serverErrorRate: 0.25 } } });
    const r = await s.runToEnd();
    assert.equal((await r.exited).code, 0, r.out.slice(-2000));
    assert.ok((s.emu.stats().byStatus['500'] ?? 0) > 0, 'the emulator answered 500s');
    expectClean(s, { note: `${s.emu.stats().byStatus['500']} × HTTP 500`, maxDuplicates: 0 });
  });

  it('connection resets: retried; nothing is skipped', async () => {
    s = await Scenario.start('API: connection resets (20%)', { emulator: { faults: { connectionResetRate: 0.2 } } });
    const r = await s.runToEnd();
    assert.equal((await r.exited).code, 0, r.out.slice(-2000));
    assert.ok(s.emu.stats().resets > 0);
    expectClean(s, { note: `${s.emu.stats().resets} resets`, maxDuplicates: 0 });
  });

  it('truncated blob bodies: the blob is fetched again; records read before the cut are not duplicated', async () => {
    s = await Scenario.start('API: truncated blob bodies (30%)', { emulator: { faults: { truncatedBlobRate: 0.3 } } });
    const r = await s.runToEnd();
    // 5 (partial) when one blob was cut on each of its 4 attempts (0.3^4 per blob): it holds its checkpoint.
    assert.ok([0, 5].includes((await r.exited).code ?? -1), r.out.slice(-2000));
    assert.ok(s.emu.stats().truncated > 0);
    // Records of the first half were already sent when the cut is noticed: the dedup set drops them on the retry.
    expectClean(s, { note: `${s.emu.stats().truncated} truncated`, maxDuplicates: 0 });
  });

  it('content that expires before it is fetched: counted and reported as lost at the source, by content id', async () => {
    s = await Scenario.start('API: content expired before fetch (15%)', { emulator: { faults: { expiredContentRate: 0.15 } } });
    const r = await s.runToEnd();
    assert.equal((await r.exited).code, 0, r.out.slice(-2000));
    const a = s.account({ note: 'expired blobs reported by content id', maxDuplicates: 0 });
    assert.deepEqual(a.missing, []);
    assert.ok(a.lostAtSourceIds.length > 0, 'the profile expired some content');
    for (const ct of s.contentTypes) {
      const cp: NonNullable<ReturnType<Scenario['checkpoint']>> = s.checkpoint(ct)!;
      const expired = s.emu.ledger.expiredContentIds(s.tenantId, s.startedAt - 6 * 3_600_000, Date.parse(cp.cursor!), { contentType: ct, asOf: Date.parse(cp.cursor!) });
      assert.deepEqual(cp.lost.map((l: { contentId: string }) => l.contentId).sort(), [...expired].sort(), `${ct}: every expired blob is in the checkpoint's lost list`);
      for (const id of expired) {
        assert.ok(
          r.logs('content lost at the source').some((l) => l.contentId === id && l.code === 'CONTENT_EXPIRED'),
          `${id} logged as lost at the source`,
        );
      }
    }
    assert.deepEqual(s.secretLeaks(), []);
  });

  it('late content in already-listed windows: picked up by the trailing re-list, once', async () => {
    s = await Scenario.start('API: late content in listed windows', {
      emulator: { faults: { lateContentRate: 0.2, lateDelayMs: 20 * 60_000 } },
      config: { poll: { once: false, intervalSeconds: 10, trailingWindowMinutes: 60 } },
    });
    // The front hides the last 40 minutes of content from the first pass's listings, then shows it.
    let reveal = false;
    const hidden = new Set<string>();
    const cutoff = Date.now() - 40 * 60_000;
    s.front.hooks.listing = (_r, entries, headers) => {
      if (reveal) return undefined;
      const keep = entries.filter((e) => {
        const x = e as { contentId: string; contentCreated: string };
        if (Date.parse(x.contentCreated) < cutoff) return true;
        hidden.add(x.contentId);
        return false;
      });
      return { status: 200, headers, body: JSON.stringify(keep) };
    };
    const r = s.spawn();
    await r.waitForLog(PASS_DONE, s.contentTypes.length);
    assert.ok(hidden.size > 0, 'some recent content was held back from the first pass');
    reveal = true;
    const firstCursors = s.contentTypes.map((ct) => s!.checkpoint(ct)!.cursor);
    await r.waitForLog(PASS_DONE, 2 * s.contentTypes.length, 60_000);
    await r.stop('SIGTERM');
    assert.equal((await r.exited).code, 0, r.out.slice(-2000));
    assert.ok(firstCursors.every((c) => c !== null), 'the first pass moved the cursor past the hidden content');
    const acked = s.rx.ackedIds();
    const lateIds = [...hidden].flatMap((id) => s!.emu.ledger.blobRecords(id).map((x) => String(x.Id)));
    assert.ok(lateIds.every((id) => acked.has(id)), 'every late record delivered');
    expectClean(s, { note: `${hidden.size} blobs listed late`, maxDuplicates: 0 });
  });

  it('duplicated blobs and records: listed twice or repeated, delivered once', async () => {
    s = await Scenario.start('API: duplicated blobs and records', { emulator: { faults: { duplicateListingRate: 0.3, duplicateRecordRate: 0.3 } } });
    // Besides the emulator's own duplicates, the front lists every entry twice on every page.
    s.front.hooks.listing = (_r, entries, headers) => ({ status: 200, headers, body: JSON.stringify([...entries, ...entries]) });
    const r = await s.runToEnd();
    assert.equal((await r.exited).code, 0, r.out.slice(-2000));
    expectClean(s, { note: 'dups dropped by content id and record Id', maxDuplicates: 0 });
  });

  /** Azure AD answers 503 with Retry-After, which MSAL honours; without one MSAL holds every token request back for 60 s. */
  function retryAfterOnTokenErrors(sc: Scenario, seconds: string) {
    sc.front.hooks.tokenHeaders = (status) => (status === 503 ? { 'Retry-After': seconds } : undefined);
  }

  it(`the token endpoint failing for a while: retried until it answers${LONG ? ' (no Retry-After: MSAL waits 60 s)' : ''}`, async () => {
    s = await Scenario.start(`API: token endpoint down 6 s${LONG ? ', no Retry-After' : ''}`, { config: { poll: { once: false, intervalSeconds: 10 } } });
    if (!LONG) retryAfterOnTokenErrors(s, '1');
    s.emu.setFaults({ tokenOutageUntil: Date.now() + 6000 });
    const r = s.spawn();
    await r.waitForLog(/"msg":"pass done"(?!.*"code")/, s.contentTypes.length, 120_000);
    await r.stop('SIGTERM');
    assert.equal((await r.exited).code, 0, r.out.slice(-2000));
    assert.ok((s.emu.stats().byStatus['503'] ?? 0) > 0, 'the token endpoint refused');
    assert.ok(r.count(/AUTH_UNAVAILABLE/) > 0, 'the outage is logged with its code');
    expectClean(s, { note: `${s.emu.stats().byStatus['503']} token refusals`, maxDuplicates: 0 });
  });

  it('SIGTERM during a token outage: stops without waiting out the retry backoff', async () => {
    s = await Scenario.start('API: SIGTERM during token outage', { config: { poll: { once: false, intervalSeconds: 10 } } });
    retryAfterOnTokenErrors(s, '1');
    s.emu.setFaults({ tokenOutageUntil: Date.now() + 10 * 60_000 });
    const r = s.spawn();
    // The fourth retry waits several seconds, the seventh about half a minute.
    await r.waitForLog(/"msg":"retrying".*"attempt":4/, 1, 60_000);
    await r.stop('SIGTERM');
    // Far less than the backoff in progress (seconds) plus the ones still to come (a minute and more).
    const { code, signal } = await r.finish(8000);
    assert.notEqual(signal, 'SIGKILL', 'the stop waited for the backoff');
    assert.equal(code, 0, r.out.slice(-2000));
    assert.ok(!r.logs('tenant pass failed').some((l) => String(JSON.stringify(l)).includes('aborted')), 'a stop is not logged as a failure');
    assert.equal(s.rx.received, 0);
    addRow({ scenario: s.name, generated: 0, delivered: 0, duplicates: 0, lost: 0, lostAtSource: 0, verdict: 'pass', note: 'clean exit 0 mid-backoff' });
    assert.deepEqual(s.secretLeaks(), []);
  });

  it('a subscription disabled mid-run: a clear error, the other content type goes on, nothing lost once it is back', async () => {
    s = await Scenario.start('API: subscription disabled mid-run', {
      emulator: { enabledAtStart: ['Audit.General', 'Audit.Exchange'], faults: { disableSubscriptionAfterListings: 1 }, pageSize: 5 },
      config: { poll: { once: false, intervalSeconds: 10 } },
    });
    const r = s.spawn();
    await waitUntil(() => r.count(/API_SUBSCRIPTION_DISABLED/) > 0 || !r.running, 60_000, 'the disabled subscription to be reported');
    await waitUntil(() => s!.cursorsAtLeast(s!.startedAt) || !r.running, 90_000, 'both content types to catch up');
    await r.stop('SIGTERM');
    await r.exited;
    assert.ok(r.count(/API_SUBSCRIPTION_DISABLED/) > 0, 'reported with its code');
    expectClean(s, { note: 'both subscriptions disabled once', maxDuplicates: 0 });
  });

  it('all of the above at once (the "faulty" profile) with a restart in the middle', async () => {
    s = await Scenario.start('API: faulty profile + SIGTERM/restart', {
      emulator: {
        faults: {
          serverErrorRate: 0.05,
          connectionResetRate: 0.05,
          truncatedBlobRate: 0.05,
          duplicateListingRate: 0.1,
          duplicateRecordRate: 0.1,
          invalidRecordRate: 0.02,
          tokenFailureRate: 0.1,
        },
      },
    });
    const r1 = s.spawn();
    await waitUntil(() => s!.rx.acked > 50 || !r1.running, 60_000, 'some deliveries');
    await r1.stop('SIGTERM');
    // Exit codes of run --once: 0 if the pass was over before the signal, 5 (partial) when the stop cut it short.
    assert.ok([0, 5].includes((await r1.exited).code ?? -1), r1.out.slice(-2000));
    await delay(100);
    // 5 (partial) is a correct answer too when, with 5 % errors, resets and cuts, a blob failed every
    // attempt of the pass: its checkpoint holds, and the next run (as a cron's) delivers it.
    let r2 = await s.runToEnd();
    for (let i = 0; i < 3 && (await r2.exited).code === 5; i++) r2 = await s.runToEnd();
    assert.equal((await r2.exited).code, 0, r2.out.slice(-2000));
    // The stop itself re-sends nothing; records the API repeated across the restart can pass the in-memory dedup.
    const a = s.account();
    expectClean(s, { note: `graceful stop; ${a.sourceDuplicates} dup records at source`, maxDuplicates: a.sourceDuplicates });
  });
});
