/**
 * Cases 1–3 of issue 11, pinned against the whole bridge (real poller, delivery, sink and checkpoint;
 * only the API client is a stand-in). Each failed (or hung) on the code before the fix.
 */
import { strict as assert } from 'node:assert';
import { Readable } from 'node:stream';
import sinon from 'sinon';
import * as tenantClient from '../src/sources/o365/tenant-client';
import type { ContentRef } from '../src/contracts';
import { BridgeError } from '../src/errors';
import { memoryLogger } from '../src/obs/log';
import { Bridge } from '../src/bridge';
import { createStdoutSink } from '../src/sinks/stdout/stdout';
import { CheckpointStore } from '../src/state/checkpoint';
import { runBridge } from '../src/commands/run';
import { makeConfig, tempDir } from './support/bridge-config';
import { startReceiver, type Receiver } from './support/receiver';
import { createMetrics } from '../src/obs/metrics';
import { parseProm } from './obs/prom-text';
import { RUN_BYTES } from '../src/sources/o365/blob-reader';

function promText(text: string) {
  const m = parseProm(text);
  return {
    value: (name: string, labels?: Record<string, string>) => m.get(labels ? `${name}{${Object.entries(labels).map(([k, v]) => `${k}=${v}`).sort().join(',')}}` : name),
    sum: (name: string) => [...m].filter(([k]) => k === name || k.startsWith(name + '{')).reduce((a, [, v]) => a + v, 0),
  };
}

const TENANT = '00000000-0000-0000-0000-000000000001';
const emu = { url: 'https://127.0.0.1:1', tenants: [{ tenantId: TENANT, clientId: '00000000-0000-0000-0000-00000000000a', clientSecret: 'x'.repeat(12) }] };

function record(i: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    RecordType: 1,
    CreationTime: '2024-05-01T10:00:00',
    Operation: 'Set-Mailbox',
    OrganizationId: TENANT,
    UserType: 0,
    UserKey: 'u',
    Workload: 'Exchange',
    UserId: 'u@example.test',
    ...extra,
  };
}

/** One blob listed in every pass; `body(fetch)` gives its text (fetch counts from 1), `pieces` how it arrives. */
function fakeApi(body: (fetch: number) => string, pieces: (b: Buffer) => Iterable<Buffer> | AsyncIterable<Buffer> = (b) => [b]) {
  let fetches = 0;
  const created = new Date(Date.now() - 30 * 60_000).toISOString().slice(0, 19) + 'Z';
  const ref: ContentRef = {
    contentType: 'Audit.General',
    contentId: 'blob-1',
    contentUri: 'https://127.0.0.1:1/blob-1',
    contentCreated: created,
    contentExpiration: new Date(Date.now() + 86_400_000).toISOString(),
  };
  const api = {
    tenantId: TENANT,
    async ensureSubscriptions(cts: readonly string[]) {
      return cts.map((ct) => ({ contentType: ct, status: 'enabled', webhook: null }));
    },
    async *listContent(): AsyncGenerator<ContentRef[]> {
      yield [ref];
    },
    async fetchBlob(): Promise<Readable> {
      return Readable.from(pieces(Buffer.from(body(++fetches))));
    },
    get fetches() {
      return fetches;
    },
    ref,
  };
  sinon.stub(tenantClient, 'createTenantClient').returns({ http: { close() {} } as never, api: api as never, close() {} });
  return api;
}

/** A bridge over the fake API (Audit.General, one pass) whose stdout sink writes into `lines`. */
function stdoutBridge(dir: string, sinkOverrides: Record<string, unknown> = {}): { bridge: Bridge; lines: string[] } {
  const lines: string[] = [];
  const sink = createStdoutSink({ write: (c) => (lines.push(c), true) });
  const cfg = makeConfig(emu, null, dir, { poll: { once: true, initialLookbackHours: 1 }, sink: { type: 'stdout', ...sinkOverrides } }, { contentTypes: ['Audit.General'] });
  return { bridge: new Bridge(cfg, { logger: memoryLogger('error'), sink }), lines };
}

describe('issue 11, pinned: delivery cases', function () {
  this.timeout(30_000);
  afterEach(() => sinon.restore());

  it('case 1: records read before a blob was cut short on every attempt of pass 1 are delivered in pass 2', async () => {
    const env = tempDir();
    const recs = Array.from({ length: 10 }, (_, i) => record(i));
    const whole = JSON.stringify(recs);
    // Cut after record 5 on every attempt of the first pass (4 attempts), whole afterwards.
    const cut = whole.slice(0, whole.indexOf(JSON.stringify(recs[6])));
    const api = fakeApi((n) => (n <= 4 ? cut : whole));
    const { bridge, lines } = stdoutBridge(env.dir);
    try {
      await bridge.init();
      const p1 = await bridge.runOnce();
      assert.equal(p1.results[0].failedBlobs, 1, 'the cut blob failed pass 1');
      assert.ok(api.fetches >= 4);
      const p2 = await bridge.runOnce();
      assert.equal(p2.results[0].failedBlobs, 0);
      const ids = new Set(lines.join('').trim().split('\n').map((l) => (JSON.parse(l) as { record: { Id: string } }).record.Id));
      const missing = recs.map((r) => r.Id as string).filter((id) => !ids.has(id));
      assert.deepEqual(missing, [], 'records never delivered');
    } finally {
      await bridge.close();
      env.cleanup();
    }
  });

  // issue 17: the poller gathers a body's pieces into runs of RUN_BYTES before splitting; pieces of
  // any size (1 byte, TLS's 16 KiB, larger than a run, one byte past it) give the same records.
  it('a body arriving in pieces of any size gives every record once, in order, unchanged', async () => {
    const env = tempDir();
    const recs = Array.from({ length: 700 }, (_, i) => record(i, { Pad: 'p'.repeat((i * 37) % 3000), Text: `é "${i}" \\ ${'☃'.repeat(i % 5)}` }));
    const whole = JSON.stringify(recs);
    assert.ok(Buffer.byteLength(whole) > 3 * RUN_BYTES, 'several runs');
    const sizes = [16384, 1, 7, RUN_BYTES + 1, 16384, RUN_BYTES - 3, 5000, 2 * RUN_BYTES, 3, 16384];
    fakeApi(
      () => whole,
      (b) => {
        const out: Buffer[] = [];
        for (let at = 0, k = 0; at < b.length; k++) {
          out.push(b.subarray(at, at + sizes[k % sizes.length]));
          at += sizes[k % sizes.length];
        }
        return out;
      },
    );
    const { bridge, lines } = stdoutBridge(env.dir);
    try {
      await bridge.init();
      const p = await bridge.runOnce();
      assert.equal(p.results[0].failedBlobs, 0);
      const got = lines.join('').trim().split('\n').map((l) => (JSON.parse(l) as { record: Record<string, unknown> }).record);
      assert.deepEqual(
        got.map((r) => [r.Id, r.Pad, r.Text]),
        recs.map((r) => [r.Id, r.Pad, r.Text]),
      );
    } finally {
      await bridge.close();
      env.cleanup();
    }
  });

  // issue 17: bytes gathered into a run were dropped with the error of a reset that came before the
  // run was full, so the batches they would have filled were not sent: with a reset at the same place
  // on every try, the records before it were delivered only once the blob came whole. Batches of 10
  // here: the first two are full before the reset and go out; the third is abandoned with the read.
  it('records before a connection reset fill and send their batches though the blob fails', async () => {
    const env = tempDir();
    const recs = Array.from({ length: 30 }, (_, i) => record(i));
    const whole = JSON.stringify(recs);
    const at = whole.indexOf(JSON.stringify(recs[20])) + 10;
    fakeApi(
      () => whole,
      (b) =>
        (async function* () {
          yield b.subarray(0, at);
          throw new BridgeError('API_NETWORK', 'blob download failed (ECONNRESET)', { retryable: true });
        })(),
    );
    const { bridge, lines } = stdoutBridge(env.dir, { maxBatchEvents: 10 });
    try {
      await bridge.init();
      const p = await bridge.runOnce();
      assert.equal(p.results[0].failedBlobs, 1, 'the blob failed');
      const ids = new Set(lines.join('').trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { record: { Id: string } }).record.Id));
      assert.deepEqual(
        recs.slice(0, 20).filter((r) => !ids.has(r.Id as string)).map((r) => r.Id),
        [],
        'records before the reset',
      );
    } finally {
      await bridge.close();
      env.cleanup();
    }
  });

  it('de-dup is keyed on (tenant, Id); a record without a usable Id (missing, empty, not a string) is never dropped', async () => {
    const env = tempDir();
    const noId = [{ n: 1 }, { n: 2, Id: '' }, { n: 3, Id: '' }, { n: 4, Id: 5 }, { n: 5, Id: 5 }, { n: 6 }].map((x) => ({ ...record(0), ...x }));
    for (const r of noId) if (!('Id' in (r as object)) || (r as { n: number }).n === 1 || (r as { n: number }).n === 6) delete (r as { Id?: unknown }).Id;
    const withId = record(7);
    fakeApi(() => JSON.stringify([...noId, withId]));
    const lines: string[] = [];
    const sink = createStdoutSink({ write: (c) => (lines.push(c), true) });
    const two = { ...emu, tenants: [emu.tenants[0], { ...emu.tenants[0], tenantId: '00000000-0000-0000-0000-000000000002' }] };
    const cfg = makeConfig(two, null, env.dir, { poll: { once: true, initialLookbackHours: 1 } }, { contentTypes: ['Audit.General'] });
    const bridge = new Bridge(cfg, { logger: memoryLogger('error'), sink });
    try {
      await bridge.init();
      await bridge.runOnce();
      const got = lines.join('').trim().split('\n').map((l) => JSON.parse(l) as { record: { n?: number; Id?: unknown; o365_bridge: { tenant: string } } });
      for (const tenant of two.tenants.map((t) => t.tenantId)) {
        const mine = got.filter((g) => g.record.o365_bridge.tenant === tenant);
        assert.deepEqual(mine.map((g) => g.record.n ?? 'id').sort(), [1, 2, 3, 4, 5, 6, 'id'].sort(), `tenant ${tenant}: every record, once`);
      }
    } finally {
      await bridge.close();
      env.cleanup();
    }
  });

  describe('with a forward receiver', () => {
    let rx: Receiver | undefined;
    afterEach(async () => {
      await rx?.stop();
      rx = undefined;
    });

    it('case 2: a record over the packet limit once encoded (not as JSON) is quarantined in a reduced form; the rest is delivered; the cursor moves', async () => {
      const env = tempDir();
      rx = await startReceiver();
      // 0.5 is 4 JSON bytes with its comma and 9 msgpack bytes: about 600 KB of JSON, 1.3 MB encoded.
      const floats = Array.from({ length: 150_000 }, () => 0.5);
      const recs = [record(0), record(1, { Values: floats }), record(2)];
      fakeApi(() => JSON.stringify(recs));
      const cfg = makeConfig(emu, rx.port, env.dir, { poll: { once: true, initialLookbackHours: 1 } }, { contentTypes: ['Audit.General'] });
      cfg.sink.maxBatchBytes = 1024 * 1024;
      const bridge = new Bridge(cfg, { logger: memoryLogger('error') });
      try {
        await bridge.init();
        const s = await bridge.runOnce();
        assert.equal(s.results[0].failedBlobs, 0, 'the blob finished');
        const got = rx.events.map((e) => e.record as Record<string, unknown>);
        const byId = new Map(got.map((r) => [r.Id, r]));
        assert.ok(byId.has(recs[0].Id) && byId.has(recs[2].Id), 'the others were delivered');
        const big = byId.get(recs[1].Id);
        assert.ok(big, 'the too-large record was delivered in a reduced form');
        const ev = rx.events.find((e) => (e.record as { Id?: unknown }).Id === recs[1].Id)!;
        assert.match(ev.tag, /invalid/, 'to the quarantine tag');
        assert.equal(big.RecordType, 1);
        assert.equal(big.CreationTime, '2024-05-01T10:00:00');
        assert.equal(big.Operation, 'Set-Mailbox');
        const meta = big.o365_bridge as { rejected?: { code: string; bytes: number } };
        assert.equal(meta.rejected?.code, 'SINK_EVENT_TOO_LARGE');
        assert.ok(meta.rejected!.bytes > 1024 * 1024, 'its original encoded size');
        assert.equal(s.results[0].cursor !== null, true);
        const cp = await new CheckpointStore(cfg.stateDir, { readOnly: true }).load(TENANT, 'Audit.General');
        assert.ok(cp && cp.cursor && Date.parse(cp.cursor) > Date.now() - 5 * 60_000, `cursor moved past the blob (${cp?.cursor})`);
      } finally {
        await bridge.close();
        env.cleanup();
      }
    });

    it('case 2 in the ECS format: the reduced record goes to the quarantine tag of its own content type (not Audit.General)', async () => {
      const env = tempDir();
      rx = await startReceiver();
      const floats = Array.from({ length: 150_000 }, () => 0.5);
      const recs = [record(0), record(1, { Values: floats })];
      fakeApi(() => JSON.stringify(recs));
      const cfg = makeConfig(emu, rx.port, env.dir, { format: 'ecs', poll: { once: true, initialLookbackHours: 1 } }, { contentTypes: ['Audit.Exchange'] });
      cfg.sink.maxBatchBytes = 1024 * 1024;
      const bridge = new Bridge(cfg, { logger: memoryLogger('error') });
      try {
        await bridge.init();
        const s = await bridge.runOnce();
        assert.equal(s.results[0].failedBlobs, 0, 'the blob finished');
        const tags = rx.events.map((e) => e.tag);
        assert.equal(tags.length, 2, tags.join(', '));
        const reduced = rx.events.find((e) => /invalid/.test(e.tag));
        assert.ok(reduced, `one event quarantined (${tags.join(', ')})`);
        assert.match(reduced.tag, /^o365\.invalid\.audit\.exchange\./);
        assert.ok(tags.every((t) => t.includes('audit.exchange')), tags.join(', '));
      } finally {
        await bridge.close();
        env.cleanup();
      }
    });

    it('metrics tell the truth under faults: emitted = acknowledged, counted once; the unacked gauge moves and ends at 0', async () => {
      const env = tempDir();
      // Connections dropped mid-batch at first: batches are sent again, so counting per attempt would show.
      rx = await startReceiver({ mode: 'close-mid-batch' });
      const recs = Array.from({ length: 40 }, (_, i) => record(i));
      fakeApi(() => JSON.stringify(recs));
      const cfg = makeConfig(emu, rx.port, env.dir, { poll: { once: true, initialLookbackHours: 1 }, sink: { type: 'forward', host: '127.0.0.1', port: rx.port, ackTimeoutSeconds: 2, maxBatchEvents: 5, maxInFlightBatches: 2 } }, { contentTypes: ['Audit.General'] });
      const metrics = createMetrics({ processMetrics: false });
      const bridge = new Bridge(cfg, { logger: memoryLogger('error'), metrics });
      const gauge: number[] = [];
      const r = rx;
      try {
        await bridge.init();
        const run = bridge.runOnce();
        await r.waitFor(() => r.stats.closedMidBatch >= 2, 20_000);
        gauge.push(promText(await metrics.text()).value('o365_bridge_events_unacked') ?? -1);
        r.setMode('ack');
        const s = await run;
        assert.equal(s.results[0].failedBlobs, 0);
        const m = promText(await metrics.text());
        const emitted = m.sum('o365_bridge_records_emitted_total');
        assert.equal(emitted, 40, 'each record counted once, when acknowledged');
        assert.equal(m.value('o365_bridge_events_acked_total'), 40);
        assert.ok(r.ackedIds().size === 40, 'the receiver acknowledged every record');
        assert.ok(gauge[0] > 0, `events_unacked moved while batches waited (${gauge[0]})`);
        assert.equal(m.value('o365_bridge_events_unacked'), 0, 'and is back to 0');
        assert.ok(m.sum('o365_bridge_sink_batches_total') > m.value('o365_bridge_sink_batches_total', { outcome: 'acked' })!, 'the failures were counted as such');
      } finally {
        await bridge.close();
        env.cleanup();
      }
    });

    it('case 3a: run --once ends, non-zero, naming SINK_AUTH, when the receiver refuses the shared key', async () => {
      const env = tempDir();
      rx = await startReceiver({ sharedKey: 'the-right-key-123' });
      const api = fakeApi(() => JSON.stringify([record(0)]));
      const cfg = makeConfig(emu, rx.port, env.dir, { poll: { once: true, initialLookbackHours: 1 } }, { contentTypes: ['Audit.General'] });
      cfg.sink.sharedKey = 'a-wrong-key-456';
      const logger = memoryLogger('info');
      let summary: { sinkError?: BridgeError } | undefined;
      const code = await runBridge(cfg, logger, { onPass: (s) => (summary = s as never), bridgeOptions: { onceGiveUpMs: 2000 } });
      assert.notEqual(code, 0);
      assert.equal(summary?.sinkError?.code, 'SINK_AUTH');
      const cp = await new CheckpointStore(cfg.stateDir, { readOnly: true }).load(TENANT, 'Audit.General');
      // Nothing acknowledged, so nothing is covered: the cursor may stand at the blob, never past it.
      assert.ok(!cp || cp.cursor === null || (Date.parse(cp.cursor) <= Date.parse(api.ref.contentCreated) && !cp.doneAtCursor.includes('blob-1')), JSON.stringify(cp));
      assert.ok(!cp || cp.recent.length === 0, 'the blob is not recorded as finished');
      env.cleanup();
    });

    it('case 3c: the service (not --once) keeps retrying an unreachable receiver and says so in readiness', async () => {
      const env = tempDir();
      rx = await startReceiver();
      const port = rx.port;
      await rx.stop();
      rx = undefined;
      fakeApi(() => JSON.stringify([record(0)]));
      const cfg = makeConfig(emu, port, env.dir, { poll: { once: false, initialLookbackHours: 1 } }, { contentTypes: ['Audit.General'] });
      cfg.sink.ackTimeoutSeconds = 1;
      const bridge = new Bridge(cfg, { logger: memoryLogger('error'), onceGiveUpMs: 1 });
      try {
        await bridge.init();
        const running = bridge.run();
        const deadline = Date.now() + 20_000;
        let reasons: string[] = [];
        while (Date.now() < deadline) {
          reasons = bridge.readiness().reasons;
          if (reasons.some((r) => r.includes('SINK_UNREACHABLE'))) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.ok(reasons.some((r) => /SINK_UNREACHABLE.*retrying/.test(r)), JSON.stringify(reasons));
        // Still retrying well after the once-mode bound (1 ms here): the service does not give up.
        await new Promise((r) => setTimeout(r, 1500));
        assert.ok(bridge.readiness().reasons.some((r) => r.includes('retrying')));
        bridge.stop();
        await running;
      } finally {
        await bridge.close();
        env.cleanup();
      }
    });

    it('case 3b: run --once ends, non-zero, naming SINK_UNREACHABLE, when the receiver stays unreachable', async () => {
      const env = tempDir();
      rx = await startReceiver();
      const port = rx.port;
      await rx.stop();
      rx = undefined;
      fakeApi(() => JSON.stringify([record(0)]));
      const cfg = makeConfig(emu, port, env.dir, { poll: { once: true, initialLookbackHours: 1 } }, { contentTypes: ['Audit.General'] });
      cfg.sink.ackTimeoutSeconds = 1;
      let summary: { sinkError?: BridgeError } | undefined;
      const code = await runBridge(cfg, memoryLogger('error'), { onPass: (s) => (summary = s as never), bridgeOptions: { onceGiveUpMs: 2000 } });
      assert.notEqual(code, 0);
      assert.equal(summary?.sinkError?.code, 'SINK_UNREACHABLE');
      env.cleanup();
    });
  });
});
