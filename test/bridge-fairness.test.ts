import { strict as assert } from 'node:assert';
import sinon from 'sinon';
import * as tenantClient from '../src/sources/o365/tenant-client';
import type { ContentRef, OutEvent, Sink } from '../src/contracts';
import type { TenantConfig } from '../src/config/types';
import { memoryLogger } from '../src/obs/log';
import { Bridge } from '../src/bridge';
import { CheckpointStore } from '../src/state/checkpoint';
import { makeConfig, tempDir } from './support/bridge-config';

const CT = 'Audit.General';
const MIN = 60_000;
const tick = () => new Promise<void>((r) => setImmediate(r));

/** What the fake API saw, in order: [tenant, what]. And how many tenants had a call under way at most. */
interface World {
  calls: Array<[string, string]>;
  active: Map<string, number>;
  maxActiveTenants: number;
}

function begin(w: World, tenant: string): void {
  w.active.set(tenant, (w.active.get(tenant) ?? 0) + 1);
  w.maxActiveTenants = Math.max(w.maxActiveTenants, w.active.size);
}
function end(w: World, tenant: string): void {
  const n = (w.active.get(tenant) ?? 1) - 1;
  if (n > 0) w.active.set(tenant, n);
  else w.active.delete(tenant);
}

/** A fake Activity API for one tenant holding blobs created at `blobsAt` (ms), one record each. */
function fakeApi(w: World, name: string, tenantId: string, blobsAt: number[]) {
  const refs: ContentRef[] = blobsAt.map((at, i) => ({
    contentType: CT,
    contentId: `${name}-${i}`,
    contentUri: `https://api.test/${name}/${i}`,
    contentCreated: new Date(at).toISOString(),
    contentExpiration: new Date(at + 7 * 24 * 60 * MIN).toISOString(),
  }));
  return {
    tenantId,
    async ensureSubscriptions(cts: readonly string[]) {
      begin(w, name);
      w.calls.push([name, 'subscriptions']);
      await tick();
      end(w, name);
      return cts.map((ct) => ({ contentType: ct, status: 'enabled', webhook: null }));
    },
    async *listContent(_ct: string, start: Date, endAt: Date): AsyncGenerator<ContentRef[]> {
      begin(w, name);
      w.calls.push([name, 'list']);
      try {
        await tick();
        yield refs.filter((r) => Date.parse(r.contentCreated) >= +start && Date.parse(r.contentCreated) < +endAt);
      } finally {
        end(w, name);
      }
    },
    async fetchBlob(uri: string): Promise<AsyncIterable<Buffer>> {
      const ref = refs.find((r) => r.contentUri === uri)!;
      begin(w, name);
      w.calls.push([name, `fetch ${ref.contentId}`]);
      // A download takes a little real time, as one does: with setImmediate alone a tenant's blobs went
      // through before another tenant's checkpoint read (real fs I/O) came back, and that tenant's
      // first unit was not waiting yet when the slot freed (failed 2 runs in 6 under load).
      await new Promise<void>((r) => setTimeout(r, 3));
      const record = { Id: `${ref.contentId}-r`, RecordType: 1, CreationTime: ref.contentCreated.slice(0, 19), Operation: 'Test', OrganizationId: tenantId, UserId: 'u@test', Workload: 'Exchange', UserType: 0, UserKey: 'k', Version: 1 };
      return (async function* () {
        try {
          await tick();
          yield Buffer.from(JSON.stringify([record]));
        } finally {
          end(w, name);
        }
      })();
    },
  };
}

const tenantId = (i: number) => `00000000-0000-0000-0000-${String(i + 1).padStart(12, '0')}`;

/**
 * Bridge wiring with fake API clients: tenants are served poll.tenantConcurrency at a time, the most
 * lagging first (core/schedule.ts), not in config order.
 */
describe('bridge: tenants served by lag', () => {
  afterEach(() => sinon.restore());

  async function run(tenantCount: number, concurrency: number, blobsOf: (i: number, now: number) => number[], cursorOf: (i: number, now: number) => number) {
    const env = tempDir();
    const now = Date.now();
    const w: World = { calls: [], active: new Map(), maxActiveTenants: 0 };
    const delivered: string[] = [];
    const sink: Sink = {
      encode: (e: OutEvent[]) => ({ events: e.length, bytes: 0, ids: e.map((x) => String(x.record.Id)) }) as never,
      deliver: async (b: unknown) => void delivered.push(...(b as { ids: string[] }).ids),
      release: () => undefined,
      close: async () => undefined,
    };
    const emu = { url: 'https://127.0.0.1:1', tenants: Array.from({ length: tenantCount }, (_, i) => ({ tenantId: tenantId(i), clientId: '00000000-0000-0000-0000-00000000000a', clientSecret: 'x'.repeat(12) })) };
    const cfg = makeConfig(emu, 1, env.dir, { poll: { once: true, initialLookbackHours: 24, trailingWindowMinutes: 0, blobConcurrency: 2, tenantConcurrency: concurrency } }, { contentTypes: [CT] });
    sinon.stub(tenantClient, 'createTenantClient').callsFake((_c: unknown, t: TenantConfig) => {
      const i = cfg.tenants.findIndex((x) => x.id === t.id);
      return { http: { close() {} } as never, api: fakeApi(w, t.name, t.id, blobsOf(i, now)) as never, close() {} };
    });
    // Checkpoints as a bridge that has been running leaves them.
    const store = new CheckpointStore(cfg.stateDir);
    await store.init();
    for (let i = 0; i < tenantCount; i++) {
      const cursor = new Date(cursorOf(i, now)).toISOString();
      await store.save({ version: 1, tenantId: tenantId(i), contentType: CT, cursor, doneAtCursor: [], recent: [], lost: [], updatedAt: cursor });
    }
    await store.close();
    const bridge = new Bridge(cfg, { logger: memoryLogger('error'), sink });
    try {
      await bridge.init();
      const s = await bridge.runOnce();
      return { w, delivered, summary: s };
    } finally {
      await bridge.close();
      env.cleanup();
    }
  }

  it('serves the lagging tenant first, whatever its place in the config', async () => {
    // t0 and t1 are up to date (cursor 10 min ago); t2, last in the config, is 6 hours behind.
    const { w, delivered, summary } = await run(
      3,
      1,
      (i, now) => (i === 2 ? [now - 330 * MIN, now - 270 * MIN, now - 210 * MIN] : [now - 5 * MIN, now - 3 * MIN]),
      (i, now) => (i === 2 ? now - 360 * MIN : now - 10 * MIN),
    );
    assert.deepEqual(summary.tenantErrors, []);
    assert.equal(delivered.length, 7, 'everything delivered');
    // Config order before (t0's pass, t1's, then t2's); now: first calls in config order, then t2's
    // window and blobs, then the others' (by age, ties in config order). The same every run.
    assert.deepEqual(
      w.calls.map((c) => c.join(' ')),
      [
        't0 subscriptions',
        't1 subscriptions',
        't2 subscriptions',
        't2 list',
        't2 fetch t2-0',
        't2 fetch t2-1',
        't2 fetch t2-2',
        't0 list',
        't1 list',
        't0 fetch t0-0',
        't0 fetch t0-1',
        't1 fetch t1-0',
        't1 fetch t1-1',
      ],
    );
    assert.equal(w.maxActiveTenants, 1, 'one tenant at a time (tenantConcurrency 1)');
  });

  it('never has more than tenantConcurrency tenants talking to the API, and starts them in config order', async () => {
    // 6 equal tenants, 2 at a time, each with 4 blobs over the last hour.
    const { w, delivered } = await run(
      6,
      2,
      (_i, now) => [now - 50 * MIN, now - 40 * MIN, now - 30 * MIN, now - 20 * MIN],
      (_i, now) => now - 60 * MIN,
    );
    assert.equal(delivered.length, 24);
    assert.ok(w.maxActiveTenants <= 2, `at most 2 tenants at a time, saw ${w.maxActiveTenants}`);
    const subs = w.calls.filter(([, what]) => what === 'subscriptions').map(([t]) => t);
    assert.deepEqual(subs, ['t0', 't1', 't2', 't3', 't4', 't5'], 'first calls in config order');
    // Moved forward together: every tenant's first blob before any tenant's last.
    const fetches = w.calls.filter(([, what]) => what.startsWith('fetch')).map(([t, what]) => `${t}:${what.slice(-1)}`);
    const lastFirst = Math.max(...['t0', 't1', 't2', 't3', 't4', 't5'].map((t) => fetches.indexOf(`${t}:0`)));
    const firstLast = Math.min(...['t0', 't1', 't2', 't3', 't4', 't5'].map((t) => fetches.indexOf(`${t}:3`)));
    assert.ok(lastFirst < firstLast, `every tenant's oldest blob before anyone's newest: ${fetches.join(' ')}`);
  });
});
