/**
 * Late listing against the real CLI in service mode: blobs that become listable in windows days old,
 * long after those windows were listed (the emulator's late-listing fault, revealed mid-run). The
 * trailing window can't reach them; the reconciliation sweep must. Ledger vs receiver: 0 missing.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { CLI, expectClean, printTableAtEnd, Scenario, waitUntil } from '../support/faults-harness';

printTableAtEnd();

const HOUR = 3_600_000;

describe('faults: late listing (reconciliation sweep)', function () {
  let s: Scenario | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('blobs listed days after their window was first listed are fetched by the sweep: 0 missing, each logged with how late', async () => {
    s = await Scenario.start('API: late listing, windows up to 3 days old (sweep)', {
      emulator: {
        historyHours: 72,
        recordsPerHour: { 'Audit.General': 60, 'Audit.Exchange': 60 },
        // Hidden at first (not listable before far in the future), revealed once the first pass is done.
        faults: { lateListingRate: 0.1, lateListingMinMs: 0, lateListingMaxMs: 0, lateListingNotBefore: Date.now() + 30 * 24 * HOUR },
      },
      config: { poll: { once: false, intervalSeconds: 10, trailingWindowMinutes: 30, reconcileIntervalMinutes: 1 }, metrics: { enabled: false } },
    });
    const sc = s;
    const r = sc.spawn();
    await r.waitForLog(/"msg":"pass done"/, sc.contentTypes.length, 120_000);
    const revealedAt = Date.now();
    sc.emu.setFaults({ lateListingNotBefore: revealedAt });
    const late = sc.contentTypes.flatMap((ct) => sc.emu.ledger.blobs(sc.tenantId, sc.startedAt - 80 * HOUR, revealedAt, { contentType: ct }).filter((b) => b.lateListed));
    const old = late.filter((b) => b.contentCreated < revealedAt - 31 * 60_000);
    assert.ok(old.length >= 5, `the fault hides blobs older than the trailing window (${old.length})`);
    // The first sweep comes one interval (1 min) after the first pass started.
    await waitUntil(
      () => {
        const found = new Set(r.logs('late content found by the reconciliation sweep').map((l) => String(l.contentId)));
        return old.every((b) => found.has(b.contentId)) || !r.running;
      },
      150_000,
      'every late-listed blob older than the trailing window to be found by a sweep',
    );
    await waitUntil(() => sc.cursorsAtLeast(revealedAt) || !r.running, 60_000, 'cursors past the reveal');
    await r.stop('SIGTERM');
    assert.equal((await r.exited).code, 0, r.out.slice(-3000));

    const lines = r.logs('late content found by the reconciliation sweep');
    for (const b of old) {
      const l = lines.find((x) => x.contentId === b.contentId);
      assert.ok(l, `${b.contentId} logged`);
      assert.ok(Number(l!.lateSeconds) >= (revealedAt - b.contentCreated) / 1000 - 5, 'how late it was, in seconds');
    }
    assert.ok(lines.every((l) => late.some((b) => b.contentId === l.contentId)), 'the sweep finds only what was really listed late');
    // status shows the last sweep and what it found.
    const st = JSON.parse(execFileSync(process.execPath, [CLI, 'status', '--config', sc.configFile, '--json'], { encoding: 'utf8' }));
    const found = st.entries.reduce((n: number, e: { lastSweep?: { lateTotal: number } }) => n + (e.lastSweep?.lateTotal ?? 0), 0);
    assert.equal(found, lines.length);
    expectClean(sc, { note: `${lines.length} blobs found late by sweeps (${old.length} older than the trailing window)`, maxDuplicates: 0 });
  });
});
