import { strict as assert } from 'node:assert';
import { createTenantClient } from '../../../src/sources/o365/tenant-client';
import { silentLogger } from '../../../src/obs/log';
import { makeConfig, tempDir, type TestEnv } from '../../support/bridge-config';

describe('sources/o365/tenant-client', () => {
  let env: TestEnv;
  beforeEach(() => {
    env = tempDir();
  });
  afterEach(() => env.cleanup());

  it("every tenant's HTTP stack shares one connection pool (issue 17: 50 tenants × 8 idle TLS sockets each)", () => {
    const tenants = [1, 2].map((i) => ({ tenantId: `0000000${i}-0000-4000-8000-000000000000`, clientId: '11111111-1111-4111-8111-111111111111', clientSecret: `s${i}` }));
    const cfg = makeConfig({ url: 'https://127.0.0.1:1', tenants }, 1, env.dir);
    const [a, b] = cfg.tenants.map((t) => createTenantClient(cfg, t, silentLogger));
    try {
      assert.equal(a.http.axios.defaults.httpsAgent, b.http.axios.defaults.httpsAgent);
      assert.equal((a.http.axios.defaults.httpsAgent as { maxSockets: number }).maxSockets, 64);
    } finally {
      a.close();
      b.close();
    }
  });
});
