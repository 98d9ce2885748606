/**
 * One verdict per tenant, three places: `/readyz` of the running service, `status` (from health.json)
 * and the exit code of `run --once`. Unit tests of the status rendering, then the real CLI.
 */
import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import * as net from 'node:net';
import { formatTenantHealth, runStatus, tenantHealth } from '../../src/commands/status';
import type { HealthFile } from '../../src/commands/health-file';
import { Scenario, waitUntil } from '../support/faults-harness';

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

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('the service, /readyz and status say the same per tenant (real CLI)', function () {
  this.timeout(120_000);
  let sc: Scenario | undefined;
  after(async () => sc?.close());

  it('a tenant whose credentials are refused: /readyz 503 naming AUTH_FAILED, status ✖ refused AUTH_FAILED, SIGTERM exit 0', async () => {
    sc = await Scenario.start('health-auth', { emulator: { historyHours: 1 } });
    const port = await freePort();
    sc.writeConfig({ poll: { once: false, intervalSeconds: 3600 }, metrics: { enabled: true, port } });
    const svc = sc.spawn({ FAULTS_CLIENT_SECRET: 'wrong-secret-value' });
    let ready: { status: number; body: string } | undefined;
    await waitUntil(
      async () => {
        if (!svc.running) return true;
        ready = await get(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
        return !!ready && JSON.parse(ready.body).tenants?.[0]?.health !== 'pending';
      },
      60_000,
      'the first pass in /readyz',
    );
    assert.ok(svc.running, svc.out.slice(-2000));
    const r = JSON.parse(ready!.body);
    assert.equal(ready!.status, 503);
    assert.equal(r.ready, false);
    assert.deepEqual(
      r.tenants.map((t: { name: string; health: string; code: string }) => [t.name, t.health, t.code]),
      [['t0', 'refused', 'AUTH_FAILED']],
    );
    assert.ok(r.reasons.some((x: string) => /^tenant t0: AUTH_FAILED: /.test(x)), r.reasons);

    const st = sc.spawn({}, ['status', '--config', sc.configFile]);
    assert.equal((await st.finish()).code, 0, st.out);
    assert.match(st.out, /^ {2}t0 +✖ refused {2}AUTH_FAILED: token request failed/m);
    assert.match(st.out, /last pass .*: exit 3, a tenant could not authenticate/);

    assert.equal((await svc.stop('SIGTERM')).code, 0, svc.out.slice(-2000));
    assert.deepEqual(sc.secretLeaks(), []);
  });
});
