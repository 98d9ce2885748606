/**
 * format: ecs end to end: emulator (HTTPS) → bridge → forward test receiver with acks. Every record the
 * emulator served arrives once as an ECS document (its Id as event.id), under the same tags as raw.
 */
import { strict as assert } from 'node:assert';
import { startEmulator, type Emulator } from '../../../src/emulator';
import { memoryLogger } from '../../../src/obs/log';
import { Bridge } from '../../../src/bridge';
import { makeConfig, tempDir, type TestEnv } from '../../support/bridge-config';
import { startReceiver, type Receiver } from '../../support/receiver';

const HOUR = 3_600_000;

describe('ecs: end to end (emulator → bridge with format: ecs → receiver)', function () {
  this.timeout(120_000);
  let emu: Emulator | undefined;
  let rx: Receiver | undefined;
  let env: TestEnv;

  afterEach(async () => {
    await rx?.stop();
    await emu?.stop();
    env.cleanup();
  });

  it('delivers every record once as an ECS document, tagged as in raw', async () => {
    env = tempDir();
    const now = Math.floor(Date.now() / 1000) * 1000;
    emu = await startEmulator({ https: true, seed: 'e2e-ecs', profile: 'clean', historyHours: 6, now: () => now, recordsPerHour: { 'Audit.General': 40, 'Audit.AzureActiveDirectory': 20 } });
    rx = await startReceiver();
    const cfg = makeConfig(emu, rx.port, env.dir, { format: 'ecs', poll: { once: true, initialLookbackHours: 6, blobConcurrency: 2 } });
    const bridge = new Bridge(cfg, { logger: memoryLogger('warn'), now: () => now });
    await bridge.init();
    try {
      const s = await bridge.runOnce();
      assert.deepEqual(s.tenantErrors, []);
    } finally {
      await bridge.close();
    }
    const expected = new Set<string>();
    for (const ct of ['Audit.General', 'Audit.AzureActiveDirectory', 'Audit.Exchange', 'Audit.SharePoint', 'DLP.All']) {
      for (const id of emu.ledger.recordIds(emu.tenants[0].tenantId, now - 6 * HOUR, now, { contentType: ct, asOf: now }).valid) expected.add(id);
    }
    assert.ok(expected.size > 50, `records: ${expected.size}`);
    assert.equal(rx.acked, rx.received);
    const ids = rx.events.map((e) => (e.record as { event: { id: string } }).event.id);
    assert.deepEqual([...ids].sort(), [...expected].sort(), 'each record once, its Id as event.id');
    for (const e of rx.events) {
      const d = e.record as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      assert.equal(d.data_stream.dataset, 'o365.audit');
      assert.equal(d.o365.bridge.tenant, emu.tenants[0].tenantId);
      assert.equal(d.Id, undefined, 'no raw fields at the top level');
      assert.equal(d.o365_bridge, undefined);
      assert.equal(typeof d['@timestamp'], 'string');
      assert.equal(Date.parse(d['@timestamp']) / 1000, e.time.sec, '@timestamp and the event time agree (whole seconds here)');
    }
    const tags = new Set(rx.events.map((e) => e.tag));
    assert.ok(tags.has('o365.audit.general.threat_intelligence'), [...tags].join(', '));
    const ti = rx.events.find((e) => e.tag === 'o365.audit.general.threat_intelligence')!.record as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.equal(ti.event.code, 'ThreatIntelligence');
    assert.ok(ti.email?.local_id, 'email fields of a type-28 record');
  });
});
