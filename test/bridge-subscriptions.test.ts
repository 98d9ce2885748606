import { strict as assert } from 'node:assert';
import sinon from 'sinon';
import * as tenantClient from '../src/sources/o365/tenant-client';
import type { ContentRef, OutEvent, Sink } from '../src/contracts';
import { memoryLogger } from '../src/obs/log';
import { Bridge } from '../src/bridge';
import { makeConfig, tempDir } from './support/bridge-config';

/** issue 14: a subscription start that must wait (429 "too frequent") does not fail a pass. */
describe('bridge wiring: a pending subscription start', () => {
  const sink: Sink = { encode: (e: OutEvent[]) => ({ events: e.length, bytes: 0 }), deliver: async () => undefined, release: () => undefined, close: async () => undefined };
  afterEach(() => sinon.restore());

  it('is a wait: logged as pending (no error), the others are polled, and it is polled once enabled', async () => {
    const env = tempDir();
    const listed: string[] = [];
    let ensureCalls = 0;
    const api = {
      tenantId: '00000000-0000-0000-0000-000000000001',
      async ensureSubscriptions(cts: readonly string[]) {
        ensureCalls++;
        return cts.map((ct) =>
          ct === 'Audit.Exchange' && ensureCalls === 1
            ? { contentType: ct, status: 'pending', webhook: null, notBefore: Date.now() + 15 * 60_000 }
            : { contentType: ct, status: 'enabled', webhook: null },
        );
      },
      async *listContent(ct: string): AsyncGenerator<ContentRef[]> {
        listed.push(ct);
        yield [];
      },
      async fetchBlob(): Promise<never> {
        throw new Error('no blobs here');
      },
    };
    sinon.stub(tenantClient, 'createTenantClient').returns({ http: { close() {} } as never, api: api as never, close() {} });
    const emu = { url: 'https://127.0.0.1:1', tenants: [{ tenantId: api.tenantId, clientId: '00000000-0000-0000-0000-00000000000a', clientSecret: 'x'.repeat(12) }] };
    const cfg = makeConfig(emu, 1, env.dir, { poll: { once: true, initialLookbackHours: 1 } }, { contentTypes: ['Audit.General', 'Audit.Exchange'] });
    const logger = memoryLogger('info');
    const bridge = new Bridge(cfg, { logger, sink });
    try {
      await bridge.init();
      const s = await bridge.runOnce();
      assert.deepEqual(s.tenantErrors, []);
      assert.ok(listed.includes('Audit.General') && !listed.includes('Audit.Exchange'));
      assert.ok(logger.lines.some((l) => l.includes('subscription start pending') && l.includes('Audit.Exchange') && l.includes('notBefore')));
      assert.ok(!logger.lines.some((l) => /"level":"error"/.test(l)), 'no error line');
      await bridge.runOnce();
      assert.ok(listed.includes('Audit.Exchange'), 'polled once enabled');
    } finally {
      await bridge.close();
      env.cleanup();
    }
  });
});
