import { strict as assert } from 'node:assert';
import sinon from 'sinon';
import * as tenantClient from '../src/sources/o365/tenant-client';
import type { ContentRef, OutEvent, Sink } from '../src/contracts';
import type { Clock } from '../src/core/limits';
import { memoryLogger } from '../src/obs/log';
import { Bridge, type PassSummary } from '../src/bridge';
import { makeConfig, tempDir } from './support/bridge-config';

/** The service loop's timing on a virtual clock: passes start an interval apart, start to start. */
describe('bridge: poll interval, start to start', () => {
  const sink: Sink = { encode: (e: OutEvent[]) => ({ events: e.length, bytes: 0 }), deliver: async () => undefined, release: () => undefined, close: async () => undefined };
  afterEach(() => sinon.restore());

  /** Runs `passes` passes of a service whose listing takes `passMs` (virtual) each; returns their start times (s from the first). */
  async function starts(passMs: number[], from = '2026-12-01T12:00:00Z', absolute = false): Promise<number[]> {
    const env = tempDir();
    let t = Date.parse(from);
    const clock: Clock = {
      now: () => t,
      sleep: async (ms, signal) => {
        if (!signal?.aborted && ms > 0) t += ms;
      },
      random: () => 0.5,
    };
    let pass = 0;
    const api = {
      tenantId: '00000000-0000-0000-0000-000000000001',
      async ensureSubscriptions(cts: readonly string[]) {
        return cts.map((ct) => ({ contentType: ct, status: 'enabled', webhook: null }));
      },
      async *listContent(): AsyncGenerator<ContentRef[]> {
        t += passMs[pass] ?? 0; // the pass takes this long
        yield [];
      },
      async fetchBlob(): Promise<never> {
        throw new Error('no blobs here');
      },
    };
    sinon.stub(tenantClient, 'createTenantClient').returns({ http: { close() {} } as never, api: api as never, close() {} });
    const emu = { url: 'https://127.0.0.1:1', tenants: [{ tenantId: api.tenantId, clientId: '00000000-0000-0000-0000-00000000000a', clientSecret: 'x'.repeat(12) }] };
    const cfg = makeConfig(emu, 1, env.dir, { poll: { once: false, intervalSeconds: 10, initialLookbackHours: 1, trailingWindowMinutes: 0 } }, { contentTypes: ['Audit.General'] });
    const bridge = new Bridge(cfg, { logger: memoryLogger('error'), sink, clock });
    const seen: PassSummary[] = [];
    try {
      await bridge.init();
      await bridge.run((s) => {
        seen.push(s);
        pass++;
        if (seen.length === passMs.length) bridge.stop();
      });
    } finally {
      await bridge.close();
      env.cleanup();
    }
    const t0 = absolute ? Date.parse(from) : Date.parse(seen[0].startedAt);
    return seen.map((s) => (Date.parse(s.startedAt) - t0) / 1000);
  }

  it('starts a pass shorter than the interval an interval after the last one started, not after it ended', async () => {
    // Each pass takes 4 s: from the end, passes would start 14 s apart (0, 14, 28).
    assert.deepEqual(await starts([4000, 4000, 4000]), [0, 10, 20]);
  });

  it('starts the next pass at once after one longer than the interval (no pause on a backlog), then back on the beat', async () => {
    assert.deepEqual(await starts([15_000, 2000, 2000]), [0, 15, 25]);
  });

  // The listing's end is cut to whole seconds: a pass that starts at .700 leaves the 0.7 s before its
  // listing to the next pass, an interval later (steady p99 was interval + 0.5 s). Failed before: the
  // passes started at 12:00:00.700, 10.700 and 20.700.
  it('starts passes after the first on whole seconds, so a listing loses no sub-second tail', async () => {
    assert.deepEqual(await starts([4000, 4000, 4000], '2026-12-01T12:00:00.700Z', true), [0, 10.3, 20.3]);
  });

  it('a pass that starts a few ms after its second keeps the beat (the next is not pushed a second further)', async () => {
    // The virtual sleep ends exactly on the second; the listing starts 30 ms late each time.
    assert.deepEqual(await starts([4000, 4000, 4000], '2026-12-01T12:00:00.030Z', true), [0, 9.97, 19.97]);
  });

  it('after a pass longer than the interval (started at once, off the second), the next start is on a whole second again', async () => {
    assert.deepEqual(await starts([15_300, 2000, 2000], '2026-12-01T12:00:00.000Z', true), [0, 15.3, 26]);
  });
});
