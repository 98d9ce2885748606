/**
 * End to end: emulator (HTTPS, its own CA) → bridge → forward test receiver with acks.
 * Each test compares the emulator's ledger (what it generated and served) with what the receiver
 * acknowledged, and reads the checkpoint files the bridge left.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sinon from 'sinon';
import { startEmulator, type Emulator } from '../../src/emulator';
import { memoryLogger } from '../../src/obs/log';
import { createMetrics } from '../../src/obs/metrics';
import { startObsServer } from '../../src/obs/server';
import { parseProm } from '../obs/prom-text';
import { Bridge } from '../../src/bridge';
import { CheckpointStore } from '../../src/state/checkpoint';
import { makeConfig, tempDir, type TestEnv } from '../support/bridge-config';
import { startReceiver, type Receiver } from '../support/receiver';

const HOUR = 3_600_000;

describe('bridge end to end (emulator → bridge → receiver)', function () {
  this.timeout(120_000);
  let emu: Emulator | undefined;
  let rx: Receiver | undefined;
  let env: TestEnv;
  let now: number;

  beforeEach(() => {
    env = tempDir();
    now = Math.floor(Date.now() / 1000) * 1000;
  });
  afterEach(async () => {
    await rx?.stop();
    await emu?.stop();
    rx = undefined;
    emu = undefined;
    env.cleanup();
  });

  async function pass(cfgOverrides: Record<string, unknown> = {}, opts: { logger?: ReturnType<typeof memoryLogger> } = {}) {
    const cfg = makeConfig(emu!, rx!.port, env.dir, {
      poll: { once: true, initialLookbackHours: 12, trailingWindowMinutes: 120, blobConcurrency: 3 },
      ...cfgOverrides,
    });
    const bridge = new Bridge(cfg, { logger: opts.logger ?? memoryLogger('warn'), now: () => now });
    await bridge.init();
    try {
      return await bridge.runOnce();
    } finally {
      await bridge.close();
    }
  }

  function ledgerIds(contentType: string, t0: number, t1: number) {
    return emu!.ledger.recordIds(emu!.tenants[0].tenantId, t0, t1, { contentType, asOf: now });
  }

  it('delivers every generated record exactly once, tagged, with event time from CreationTime', async () => {
    emu = await startEmulator({
      https: true,
      seed: 'e2e-clean',
      profile: 'clean',
      historyHours: 12,
      now: () => now,
      recordsPerHour: { 'Audit.General': 40, 'Audit.Exchange': 30 },
      pageSize: 5,
    });
    rx = await startReceiver();
    const s = await pass({}, {});
    assert.deepEqual(s.tenantErrors, []);
    const expected = new Set<string>();
    for (const ct of ['Audit.General', 'Audit.Exchange']) for (const id of ledgerIds(ct, now - 12 * HOUR, now).valid) expected.add(id);
    // Only the configured content types... all five are configured by default; the others have no data here.
    for (const ct of ['Audit.SharePoint', 'Audit.AzureActiveDirectory', 'DLP.All']) for (const id of ledgerIds(ct, now - 12 * HOUR, now).valid) expected.add(id);
    assert.ok(expected.size > 100, `expected a few hundred records, got ${expected.size}`);
    assert.equal(rx.acked, rx.received, 'every received event acknowledged');
    assert.deepEqual([...rx.ackedIds()].sort(), [...expected].sort(), 'acked ids equal the ledger');
    assert.equal(rx.received, expected.size, 'no duplicates without faults');

    const tags = rx.countByTag();
    assert.ok(tags.get('o365.audit.general.threat_intelligence'), `tags: ${[...tags.keys()].join(', ')}`);
    for (const tag of tags.keys()) assert.match(tag, /^o365\.(audit\.(general|exchange|sharepoint|azure_active_directory)|dlp\.all)\.[a-z0-9_]+$/);

    const ev = rx.events.find((e) => e.tag === 'o365.audit.general.threat_intelligence')!;
    const ct = String(ev.record.CreationTime).replace(/Z$/, '');
    assert.equal(ev.time.sec, Math.floor(Date.parse(ct + 'Z') / 1000), 'event time is CreationTime read as UTC');
    assert.equal(ev.record.o365_bridge.tenant, emu.tenants[0].tenantId);
    assert.equal(ev.record.o365_bridge.content_type, 'Audit.General');

    const cp = await new CheckpointStore(path.join(env.dir, 'state')).load(emu.tenants[0].tenantId, 'Audit.General');
    assert.ok(cp && cp.cursor, 'checkpoint written');
    assert.ok(Date.parse(cp.cursor!) >= now - 1000, 'cursor at the end of the last window');
  });

  it('continues from its checkpoint after a restart: new content only, no gaps, no duplicates', async () => {
    emu = await startEmulator({ https: true, seed: 'e2e-restart', profile: 'clean', historyHours: 12, now: () => now, recordsPerHour: { 'Audit.General': 60 } });
    rx = await startReceiver();
    const overrides = { poll: { once: true, initialLookbackHours: 12, trailingWindowMinutes: 60, blobConcurrency: 2 } };
    const tenantCt = { contentTypes: ['Audit.General'] };
    const run = async () => {
      const cfg = makeConfig(emu!, rx!.port, env.dir, overrides, tenantCt);
      const b = new Bridge(cfg, { logger: memoryLogger('warn'), now: () => now });
      await b.init();
      try {
        return await b.runOnce();
      } finally {
        await b.close();
      }
    };
    const t0 = now;
    await run();
    const first = rx.received;
    now += 3 * HOUR; // three more hours of content become available
    await run();
    const expected = ledgerIds('Audit.General', t0 - 12 * HOUR, now).valid;
    assert.ok(rx.received > first, 'the second run delivered new content');
    assert.deepEqual([...rx.ackedIds()].sort(), [...expected].sort());
    assert.equal(rx.received, expected.length, 'nothing delivered twice across the restart');
  });

  it('quarantines invalid records with their reasons and counts content lost at the source', async () => {
    // A fixed instant: the emulator's faults are drawn per hour slot, and at some hours of the day
    // these 12 hours held no expired blob (the test failed at 14:30 UTC on 2026-12-02).
    now = Date.UTC(2026, 10, 30, 12, 0, 0);
    emu = await startEmulator({
      https: true,
      seed: 'e2e-dirty',
      profile: 'clean',
      historyHours: 12,
      now: () => now,
      recordsPerHour: { 'Audit.General': 80 },
      faults: { invalidRecordRate: 0.05, expiredContentRate: 0.1, duplicateRecordRate: 0.2, duplicateListingRate: 0.2 },
    });
    rx = await startReceiver();
    const logger = memoryLogger('warn');
    const s = await pass({}, { logger });
    const ids = ledgerIds('Audit.General', now - 12 * HOUR, now);
    const expired = emu.ledger.expiredContentIds(emu.tenants[0].tenantId, now - 12 * HOUR, now, { contentType: 'Audit.General', asOf: now });
    assert.ok(ids.invalid.length > 0 && expired.length > 0, 'the profile produced invalid records and expired blobs');

    const general = s.results.find((r) => r.contentType === 'Audit.General')!;
    const quarantined = rx.events.filter((e) => e.tag.startsWith('o365.invalid.audit.general.'));
    assert.deepEqual(new Set(quarantined.map((e) => e.record.Id)), new Set(ids.invalid), 'every invalid record quarantined');
    for (const e of quarantined) assert.ok(e.record.o365_bridge.errors.length > 0, 'with its reasons');
    const valid = new Set(rx.events.filter((e) => e.tag.startsWith('o365.audit.general.')).map((e) => e.record.Id));
    assert.deepEqual([...valid].sort(), [...ids.valid].sort(), 'every valid record delivered');

    assert.deepEqual(general.lost.map((l) => l.contentId).sort(), [...expired].sort(), 'lost blobs reported by content id');
    assert.ok(general.duplicates >= ids.duplicates, 'duplicated records dropped and counted');
    assert.equal(rx.events.filter((e) => e.tag.startsWith('o365.audit.general.')).length, valid.size, 'no record delivered twice');
    assert.ok(logger.lines.some((l) => l.includes('content lost at the source') && l.includes(expired[0])), 'and logged with the content id');
    const cp = await new CheckpointStore(path.join(env.dir, 'state')).load(emu.tenants[0].tenantId, 'Audit.General');
    assert.equal(cp!.lost.length, expired.length);
  });

  it('with a receiver that never acks: nothing is checkpointed; a later run delivers everything', async () => {
    emu = await startEmulator({ https: true, seed: 'e2e-noack', profile: 'clean', historyHours: 6, now: () => now, recordsPerHour: { 'Audit.General': 60 } });
    rx = await startReceiver({ mode: 'never-ack' });
    const cfg = makeConfig(emu, rx.port, env.dir, {
      poll: { once: true, initialLookbackHours: 6, blobConcurrency: 2 },
      sink: { type: 'forward', host: '127.0.0.1', port: rx.port, ackTimeoutSeconds: 1 },
    }, { contentTypes: ['Audit.General'] });
    const bridge = new Bridge(cfg, { logger: memoryLogger('error'), now: () => now, shutdownGraceMs: 500 });
    await bridge.init();
    const running = bridge.runOnce();
    await rx.waitFor(() => rx!.received > 0, 30_000);
    bridge.stop();
    await running;
    await bridge.close();
    const store = new CheckpointStore(path.join(env.dir, 'state'));
    const cp = await store.load(emu.tenants[0].tenantId, 'Audit.General');
    const delivered = emu.ledger.blobs(emu.tenants[0].tenantId, now - 6 * HOUR, now, { contentType: 'Audit.General', asOf: now });
    if (cp?.cursor) {
      // Whatever the cursor covers must have been acknowledged: nothing was.
      assert.ok(delivered.every((b) => b.contentCreated >= Date.parse(cp.cursor!)), `cursor ${cp.cursor} moved past unacknowledged content`);
    }
    assert.equal(cp?.recent.length ?? 0, 0, 'no blob recorded as done');

    rx.setMode('ack');
    const cfg2 = makeConfig(emu, rx.port, env.dir, { poll: { once: true, initialLookbackHours: 6, blobConcurrency: 2 } }, { contentTypes: ['Audit.General'] });
    const b2 = new Bridge(cfg2, { logger: memoryLogger('error'), now: () => now });
    await b2.init();
    await b2.runOnce();
    await b2.close();
    const expected = ledgerIds('Audit.General', now - 6 * HOUR, now).valid;
    assert.deepEqual([...rx.ackedIds()].sort(), [...expected].sort(), 'everything delivered once acks came back');
  });

  it('under API faults and a receiver that drops connections and acks slowly: at least once, checkpoint never ahead of the acks', async () => {
    emu = await startEmulator({
      https: true,
      seed: 'e2e-faulty',
      profile: 'faulty',
      historyHours: 8,
      now: () => now,
      recordsPerHour: { 'Audit.General': 120, 'Audit.Exchange': 60 },
      faults: { lateContentRate: 0, slowResponseRate: 0, tokenFailureRate: 0.02 },
    });
    rx = await startReceiver({ mode: 'close-mid-batch' });
    const tenant = emu.tenants[0].tenantId;
    // Every checkpoint the bridge writes is checked at the moment it is written: every blob it
    // covers (from where it started listing, initialLookbackHours back, up to its cursor) must
    // already be acknowledged by the receiver, record by record.
    const violations: string[] = [];
    let saves = 0;
    const orig = CheckpointStore.prototype.save;
    const stub = sinon.stub(CheckpointStore.prototype, 'save').callsFake(async function (this: CheckpointStore, cp) {
      saves++;
      if (cp.cursor) {
        const acked = rx!.ackedIds();
        const covered = emu!.ledger
          .blobs(tenant, now - 8 * HOUR, Date.parse(cp.cursor) + 1, { contentType: cp.contentType, asOf: now })
          .filter((b) => b.contentCreated < Date.parse(cp.cursor!) || cp.doneAtCursor.includes(b.contentId));
        for (const b of covered) {
          for (const r of emu!.ledger.blobRecords(b.contentId)) {
            if (typeof r.Id === 'string' && !acked.has(r.Id)) violations.push(`${cp.contentType} cursor ${cp.cursor}: ${b.contentId} record ${r.Id} not acked`);
          }
        }
      }
      return orig.call(this, cp);
    });
    // The receiver misbehaves for a while, then acks slowly, then normally.
    const phases = (async () => {
      await rx!.waitFor(() => rx!.connections >= 3, 60_000);
      rx!.setMode('slow-ack', { ackDelayMs: 100 });
      await rx!.waitFor(() => rx!.acked > 100, 60_000);
      rx!.setMode('ack');
    })();
    try {
      const cfg = makeConfig(emu, rx.port, env.dir, {
        poll: { once: true, initialLookbackHours: 8, blobConcurrency: 3 },
        sink: { type: 'forward', host: '127.0.0.1', port: rx.port, ackTimeoutSeconds: 2, maxBatchEvents: 50 },
      }, { contentTypes: ['Audit.General', 'Audit.Exchange'] });
      // Passes until everything is in (a failed blob holds the cursor and is retried next pass).
      for (let i = 0; i < 6; i++) {
        const b = new Bridge(cfg, { logger: memoryLogger('error'), now: () => now });
        await b.init();
        const s = await b.runOnce();
        await b.close();
        if (s.results.every((r) => r.failedBlobs === 0 && !r.error) && s.tenantErrors.length === 0) break;
      }
      await phases;
    } finally {
      stub.restore();
    }
    assert.ok(saves > 0);
    assert.deepEqual(violations.slice(0, 5), [], 'a checkpoint covered content not yet acknowledged');
    const acked = rx.ackedIds();
    for (const ct of ['Audit.General', 'Audit.Exchange']) {
      const ids = ledgerIds(ct, now - 8 * HOUR, now);
      const missing = [...ids.valid, ...ids.invalid].filter((id) => !acked.has(id));
      assert.deepEqual(missing.slice(0, 5), [], `${ct}: every record delivered at least once`);
    }
    assert.ok(rx.stats.closedMidBatch > 0, 'the receiver did drop connections mid-batch');
  });

  it('counts what it did in the metrics, served over HTTP with health and readiness', async () => {
    emu = await startEmulator({ https: true, seed: 'e2e-metrics', profile: 'clean', historyHours: 4, now: () => now, recordsPerHour: { 'Audit.General': 60 } });
    rx = await startReceiver();
    const metrics = createMetrics({ processMetrics: false });
    const cfg = makeConfig(emu, rx.port, env.dir, { poll: { once: true, initialLookbackHours: 4 } }, { contentTypes: ['Audit.General'] });
    const bridge = new Bridge(cfg, { logger: memoryLogger('error'), metrics, now: () => now });
    await bridge.init();
    const server = await startObsServer({ port: 0, metrics, readiness: () => bridge.readiness() });
    try {
      await bridge.runOnce();
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const m = parseProm(text);
      const t = emu.tenants[0].tenantId;
      const sum = (prefix: string) => [...m].filter(([k]) => k.startsWith(prefix)).reduce((a, [, v]) => a + v, 0);
      assert.equal(sum('o365_bridge_records_fetched_total{'), rx.received, 'records fetched = records delivered (no faults)');
      assert.equal(m.get('o365_bridge_events_acked_total'), rx.acked);
      assert.ok(m.get(`o365_bridge_records_fetched_total{content_type=Audit.General,record_type=28,tenant=${t}}`)! > 0, 'per record type');
      assert.ok(sum('o365_bridge_blobs_fetched_total{') > 0);
      assert.ok(m.get(`o365_bridge_api_requests_total{operation=subscriptions_content,status=200,tenant=${t}}`)! > 0, 'API requests by operation and status');
      assert.ok(m.get(`o365_bridge_api_requests_total{operation=blob,status=200,tenant=${t}}`)! > 0);
      assert.ok(m.get(`o365_bridge_bytes_fetched_total{tenant=${t}}`)! > 0, 'bytes');
      assert.ok(m.has(`o365_bridge_checkpoint_lag_seconds{content_type=Audit.General,tenant=${t}}`), 'checkpoint lag');
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
      assert.equal((await fetch(`${server.url}/readyz`)).status, 200, 'authenticated and delivering');
    } finally {
      await server.close();
      await bridge.close();
    }
  });

  it('refuses to run on a state directory another process holds', async () => {
    emu = await startEmulator({ https: true, seed: 'e2e-lock', profile: 'clean', historyHours: 1, now: () => now });
    rx = await startReceiver();
    const cfg = makeConfig(emu, rx.port, env.dir);
    const a = new Bridge(cfg, { logger: memoryLogger('error') });
    await a.init();
    const b = new Bridge(cfg, { logger: memoryLogger('error') });
    await assert.rejects(b.init(), /STATE|lock|another/i);
    await b.close();
    await a.close();
    assert.ok(fs.existsSync(path.join(env.dir, 'state')));
  });
});
