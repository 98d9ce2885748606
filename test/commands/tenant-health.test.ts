/**
 * One verdict per tenant, three places: `/readyz` of the running service, `status` (from health.json)
 * and the exit code of `run --once`. Unit tests of the status rendering, then the real CLI.
 */
import { strict as assert } from 'node:assert';
import { formatTenantHealth, runStatus, tenantHealth } from '../../src/commands/status';
import type { HealthFile } from '../../src/commands/health-file';

const T1 = '11111111-1111-1111-1111-111111111111';
const T2 = '22222222-2222-2222-2222-222222222222';
const HEALTH: HealthFile = {
  version: 1,
  at: '2024-05-02T11:58:30.250Z',
  exitCode: 3,
  tenants: [
    { id: T1, name: 'contoso', health: 'refused', code: 'AUTH_FAILED', message: 'token request failed', contentTypes: [] },
    { id: T2, name: 'fabrikam', health: 'ok', contentTypes: [] },
  ],
};

describe('status: per-tenant health', () => {
  it('one line per configured tenant, in config order; unknown before its first pass', () => {
    const r = tenantHealth(
      [
        { id: T2, name: 'fabrikam', contentTypes: [] },
        { id: T1, name: 'contoso', contentTypes: [] },
        { id: 'new', name: 'newco', contentTypes: [] },
      ],
      HEALTH,
    );
    assert.deepEqual(
      r.tenants.map((t) => [t.name, t.health, t.code]),
      [
        ['fabrikam', 'ok', undefined],
        ['contoso', 'refused', 'AUTH_FAILED'],
        ['newco', 'unknown', undefined],
      ],
    );
    const text = formatTenantHealth(r);
    assert.match(text, /tenant health \(last pass 2024-05-02T11:58:30Z: exit 3, a tenant could not authenticate/);
    assert.match(text, /^ {2}contoso +✖ refused {2}AUTH_FAILED: token request failed$/m);
    assert.match(text, /^ {2}fabrikam +✔ ok$/m);
    assert.match(formatTenantHealth(tenantHealth([{ id: T1, contentTypes: [] }], null)), /no pass recorded yet/);
  });

  it('is in the table and in --json', async () => {
    const out: string[] = [];
    const deps = {
      loadConfig: async () => ({ stateDir: '/x', tenants: [{ id: T1, name: 'contoso', contentTypes: ['Audit.General'] }] }),
      listCheckpoints: async () => [],
      readHealth: async () => HEALTH,
      now: () => new Date('2024-05-02T12:00:00Z'),
      stdout: (s: string) => out.push(s),
      stderr: () => undefined,
    };
    assert.equal(await runStatus(['--config', 'c.yaml'], deps), 0);
    assert.match(out.join(''), /contoso +✖ refused {2}AUTH_FAILED/);
    out.length = 0;
    assert.equal(await runStatus(['--config', 'c.yaml', '--json'], deps), 0);
    const j = JSON.parse(out.join(''));
    assert.deepEqual(j.health.tenants, [{ id: T1, name: 'contoso', health: 'refused', code: 'AUTH_FAILED', message: 'token request failed' }]);
    assert.equal(j.health.exitCode, 3);
  });
});
