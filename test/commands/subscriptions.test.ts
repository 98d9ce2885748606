import { strict as assert } from 'node:assert';
import { runSubscriptions, type SubscriptionRow } from '../../src/commands/subscriptions';
import type { Config } from '../../src/config/types';
import { startEmulator, type Emulator } from '../../src/emulator';
import { silentLogger } from '../../src/obs/log';
import { makeConfig, tempDir, type TestEnv } from '../support/bridge-config';

describe('commands/subscriptions (against the emulator over HTTPS)', function () {
  let emu: Emulator;
  let env: TestEnv;
  let cfg: Config;

  before(async () => {
    emu = await startEmulator({ https: true, seed: 'subs', tenants: 2, historyHours: 1, profile: 'clean' });
    env = tempDir('subs-cmd-');
    cfg = makeConfig(emu, null, env.dir, {}, {});
    cfg.tenants[0].contentTypes = ['Audit.General', 'Audit.Exchange'];
  });
  after(async () => {
    await emu.stop();
    env.cleanup();
  });

  async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runSubscriptions([...argv, '--config', 'cfg.yaml'], {
      loadConfig: async () => cfg,
      stdout: (s) => out.push(s),
      stderr: (s) => err.push(s),
      logger: silentLogger,
    });
    return { code, out: out.join(''), err: err.join('') };
  }
  const rows = (out: string): SubscriptionRow[] => JSON.parse(out).subscriptions;
  const statusOf = (rs: SubscriptionRow[], tenant: string, ct: string) => rs.find((r) => r.tenantName === tenant && r.contentType === ct)?.status;

  it('lists, starts and stops subscriptions for one tenant', async () => {
    let r = await run('list', '--tenant', 't0', '--json');
    assert.equal(r.code, 0, r.err);
    // Nothing started yet: the configured content types show up as absent (or disabled, as the API lists them).
    for (const ct of ['Audit.General', 'Audit.Exchange']) assert.match(String(statusOf(rows(r.out), 't0', ct)), /^(absent|disabled)$/);
    assert.ok(rows(r.out).every((x) => x.tenantName === 't0'));

    r = await run('start', '--tenant', 't0', '--json');
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(
      rows(r.out).map((x) => [x.contentType, x.status, x.configured]),
      [
        ['Audit.General', 'enabled', true],
        ['Audit.Exchange', 'enabled', true],
      ],
    );

    r = await run('start', '--tenant', 't0', '--content-type', 'audit.general', '--json'); // already enabled: AF20024 is success
    assert.equal(r.code, 0, r.err);
    assert.equal(statusOf(rows(r.out), 't0', 'Audit.General'), 'enabled');

    r = await run('list', '--tenant', cfg.tenants[0].id);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^TENANT\s+CONTENT TYPE\s+STATUS\s+POLLED\s+WEBHOOK\n/);
    assert.match(r.out, /\nt0\s+Audit\.General\s+enabled\s+yes\s+-/);
    assert.match(r.out, /\nt0\s+Audit\.Exchange\s+enabled\s+yes\s+-/);

    r = await run('stop', '--tenant', 't0', '--content-type', 'Audit.Exchange', '--json');
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(rows(r.out).map((x) => [x.contentType, x.status]), [['Audit.Exchange', 'stopped']]);

    r = await run('list', '--tenant', 't0', '--json');
    assert.equal(statusOf(rows(r.out), 't0', 'Audit.General'), 'enabled');
    assert.match(String(statusOf(rows(r.out), 't0', 'Audit.Exchange')), /^(absent|disabled)$/);
  });

  it('works on every configured tenant without --tenant', async () => {
    const r = await run('start', '--content-type', 'DLP.All', '--json');
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(
      rows(r.out).map((x) => [x.tenantName, x.contentType, x.status]),
      [
        ['t0', 'DLP.All', 'enabled'],
        ['t1', 'DLP.All', 'enabled'],
      ],
    );
    assert.equal(rows(r.out)[0].configured, false, 't0 does not poll DLP.All');
  });

  it('reports a failing tenant with its error code and exit 1, and still runs the others', async () => {
    const broken = structuredClone(cfg);
    broken.tenants[0].credential = { kind: 'secret', clientSecret: 'definitely-the-wrong-secret' };
    const out: string[] = [];
    const err: string[] = [];
    const code = await runSubscriptions(['list', '--json', '--config', 'x'], {
      loadConfig: async () => broken,
      stdout: (s) => out.push(s),
      stderr: (s) => err.push(s),
      logger: silentLogger,
    });
    assert.equal(code, 1);
    const rs = rows(out.join(''));
    assert.equal(rs[0].tenantName, 't0');
    assert.equal(rs[0].status, 'error');
    assert.equal(rs[0].error?.code, 'AUTH_FAILED');
    assert.ok(rs.some((x) => x.tenantName === 't1' && x.status !== 'error'));
    assert.match(err.join(''), /^error AUTH_FAILED: tenant t0/);
    assert.ok(!err.join('').includes('definitely-the-wrong-secret') && !out.join('').includes('definitely-the-wrong-secret'));
  });

  it('refuses bad usage with exit 2 before calling the API', async () => {
    const before = emu.stats().requests;
    const cases: Array<[string[], RegExp]> = [
      [['stop'], /stop needs --content-type/],
      [['list', '--tenant', 'nobody'], /no tenant "nobody"/],
      [['list', '--content-type', 'Audit.Nope'], /unknown content type "Audit\.Nope"/],
      [['frobnicate'], /unknown action "frobnicate"/],
      [['list', '--bogus'], /unknown option --bogus/],
    ];
    for (const [argv, re] of cases) {
      const r = await run(...argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.err, re);
      assert.match(r.err, /usage: o365-fluent-bridge subscriptions/);
    }
    const none = await runSubscriptions([], { stderr: () => undefined });
    assert.equal(none, 2);
    assert.equal(emu.stats().requests, before);
  });
});
