/**
 * The exit codes of `run --once`, from the real CLI (child process) against the emulator (behind the
 * fault suite's front) and the test receiver: one scenario per code in the README's table.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Scenario, type ChildRun } from '../support/faults-harness';

/** Runs `run --once` to its end (a receiver that keeps failing is given up by the bridge itself). */
async function runOnce(sc: Scenario, env: Record<string, string | undefined> = {}): Promise<{ code: number | null; run: ChildRun }> {
  const run = sc.spawn(env);
  const { code } = await run.finish(120_000);
  return { code, run };
}

describe('run --once exit codes (real CLI, emulator, test receiver)', function () {
  this.timeout(180_000);
  let sc: Scenario | undefined;
  afterEach(async () => {
    await sc?.close();
    sc = undefined;
  });

  it('0 when every content type completed and every event was acknowledged; health.json says ok', async () => {
    sc = await Scenario.start('exit-0', { emulator: { historyHours: 1 } });
    const { code, run } = await runOnce(sc);
    assert.equal(code, 0, run.out.slice(-2000));
    assert.ok(sc.rx.acked > 0);
    const h = JSON.parse(fs.readFileSync(path.join(sc.stateDir, 'health.json'), 'utf8'));
    assert.equal(h.exitCode, 0);
    assert.deepEqual(
      h.tenants.map((t: { name: string; health: string }) => [t.name, t.health]),
      [['t0', 'ok']],
    );
  });

  it('2 for a config that cannot be used', async () => {
    sc = await Scenario.start('exit-2', { emulator: { historyHours: 1 } });
    const { code, run } = await runOnce(sc, { FAULTS_CLIENT_SECRET: undefined });
    assert.equal(code, 2, run.out.slice(-2000));
    assert.match(run.out, /FAULTS_CLIENT_SECRET/);
  });

  it('3 naming the tenant when its credentials are refused (AUTH_FAILED), nothing delivered', async () => {
    sc = await Scenario.start('exit-3-auth', { emulator: { historyHours: 1 } });
    const { code, run } = await runOnce(sc, { FAULTS_CLIENT_SECRET: 'not-the-secret-at-all' });
    assert.equal(code, 3, run.out.slice(-2000));
    assert.match(run.out, new RegExp(`run: tenant t0 \\(${sc.tenantId}\\): AUTH_FAILED: `));
    assert.match(run.out, /run: exit 3: a tenant could not authenticate or was refused by the API/);
    assert.equal(sc.rx.acked, 0);
    assert.deepEqual(sc.secretLeaks(), []);
  });

  it('3 when the API refuses the tenant (403 AF10001: no ActivityFeed.Read)', async () => {
    sc = await Scenario.start('exit-3-af10001', { emulator: { historyHours: 1 } });
    sc.front.hooks.replace = (r) =>
      r.route === 'subscriptions' || r.route === 'listing'
        ? { status: 403, body: JSON.stringify({ error: { code: 'AF10001', message: 'The permission set () sent in the request did not include the expected permission ActivityFeed.Read.' } }) }
        : undefined;
    const { code, run } = await runOnce(sc);
    assert.equal(code, 3, run.out.slice(-2000));
    assert.match(run.out, /run: tenant t0 .*API_FORBIDDEN/);
  });

  it('4 when the receiver is unreachable', async () => {
    sc = await Scenario.start('exit-4-unreachable', { emulator: { historyHours: 1 } });
    // Port 1, where nothing listens: a port found free and closed again could be taken by another
    // suite's listener before the bridge connects (CI saw SINK_AUTH, a receiver that sent no HELO).
    sc.writeConfig({ sink: { port: 1, ackTimeoutSeconds: 1 } });
    const { code, run } = await runOnce(sc);
    assert.equal(code, 4, run.out.slice(-2000));
    assert.match(run.out, /run: receiver: SINK_UNREACHABLE: /);
    assert.match(run.out, /run: exit 4: the receiver refused the events or was unreachable/);
  });

  it('4 when the receiver refuses the handshake (wrong shared key)', async () => {
    sc = await Scenario.start('exit-4-refused', { emulator: { historyHours: 1 } });
    sc.writeConfig({ sink: { ackTimeoutSeconds: 1 } });
    const { code, run } = await runOnce(sc, { FAULTS_SHARED_KEY: 'a-different-shared-key' });
    assert.equal(code, 4, run.out.slice(-2000));
    assert.match(run.out, /run: receiver: SINK_AUTH: /);
    assert.equal(sc.rx.acked, 0);
  });

  it('5 when blobs failed and hold their checkpoint (the rest delivered)', async () => {
    sc = await Scenario.start('exit-5-partial', { emulator: { historyHours: 1 }, contentTypes: ['Audit.General'] });
    let bad: string | undefined;
    sc.front.hooks.replace = (r) => {
      if (r.route !== 'blob') return undefined;
      bad ??= r.contentId;
      return r.contentId === bad ? { status: 200, body: '{"this is":"not an array of records"}' } : undefined;
    };
    const { code, run } = await runOnce(sc);
    assert.equal(code, 5, run.out.slice(-2000));
    assert.match(run.out, /run: tenant t0 .*Audit\.General: (BLOBS_FAILED|BLOB_MALFORMED): /);
    assert.match(run.out, /run: exit 5: partial/);
    const h = JSON.parse(fs.readFileSync(path.join(sc.stateDir, 'health.json'), 'utf8'));
    assert.equal(h.tenants[0].health, 'partial');
  });
});
