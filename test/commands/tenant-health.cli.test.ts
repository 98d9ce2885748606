/** /readyz of the running service and `status` say the same per tenant: the real CLI (faults tier). */
import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import * as net from 'node:net';
import { Scenario, waitUntil } from '../support/faults-harness';

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
