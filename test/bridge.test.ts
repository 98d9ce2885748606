import { strict as assert } from 'node:assert';
import sinon from 'sinon';
import * as tenantClient from '../src/sources/o365/tenant-client';
import type { ContentRef, OutEvent, Sink } from '../src/contracts';
import { memoryLogger } from '../src/obs/log';
import { Bridge } from '../src/bridge';
import { makeConfig, tempDir } from './support/bridge-config';

/** The bridge's wiring with a fake API client: subscription handling across passes. */
describe('bridge wiring', () => {
  const sink: Sink = { encode: (e: OutEvent[]) => ({ events: e.length, bytes: 0 }), deliver: async () => undefined, release: () => undefined, close: async () => undefined };
  afterEach(() => sinon.restore());

  it('re-checks a content type that was not enabled, on the next pass, and polls it once enabled', async () => {
    const env = tempDir();
    const listed: string[] = [];
    let ensureCalls = 0;
    const api = {
      tenantId: '00000000-0000-0000-0000-000000000001',
      async ensureSubscriptions(cts: readonly string[]) {
        ensureCalls++;
        return cts.map((ct) => ({ contentType: ct, status: ct === 'Audit.Exchange' && ensureCalls === 1 ? 'disabled' : 'enabled', webhook: null }));
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
    const logger = memoryLogger('error');
    const bridge = new Bridge(cfg, { logger, sink });
    try {
      await bridge.init();
      await bridge.runOnce();
      assert.ok(listed.includes('Audit.General') && !listed.includes('Audit.Exchange'), 'only the enabled one polled');
      assert.ok(logger.lines.some((l) => l.includes('subscription not enabled') && l.includes('Audit.Exchange')), 'reported clearly');
      await bridge.runOnce();
      assert.equal(ensureCalls, 2, 'asked again on the next pass');
      assert.ok(listed.includes('Audit.Exchange'), 'polled once enabled');
      await bridge.runOnce();
      assert.equal(ensureCalls, 2, 'all enabled: not asked again');
    } finally {
      await bridge.close();
      env.cleanup();
    }
  });
});
