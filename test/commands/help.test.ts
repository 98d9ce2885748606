/** The CLI's `<command> --help` (usage on stdout, exit 0) and the demo naming the port it looked at. */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { wantsHelp } from '../../src/commands/args';

const CLI = path.resolve(__dirname, '../../src/cli.js');
const COMMANDS = ['run', 'check-config', 'validate', 'demo', 'emulator', 'status', 'subscriptions'];

describe('cli: <command> --help', () => {
  for (const cmd of COMMANDS) {
    for (const flag of ['--help', '-h']) {
      it(`${cmd} ${flag}: its usage on stdout, exit 0`, () => {
        const r = spawnSync(process.execPath, [CLI, cmd, flag], { encoding: 'utf8', timeout: 30_000 });
        assert.equal(r.status, 0, r.stderr);
        assert.ok(r.stdout.startsWith(`usage: o365-fluent-bridge ${cmd}`), r.stdout);
        assert.equal(r.stderr, '');
      });
    }
  }

  it('--help after other options still wins (run --config x.yaml --help does not read x.yaml)', () => {
    const r = spawnSync(process.execPath, [CLI, 'run', '--config', '/nonexistent/x.yaml', '--help'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^usage: o365-fluent-bridge run --config FILE/);
  });

  it('help <command> is <command> --help; the bare list still exits 0 with --help and 2 without a command', () => {
    const h = spawnSync(process.execPath, [CLI, 'help', 'status'], { encoding: 'utf8' });
    assert.equal(h.status, 0);
    assert.match(h.stdout, /^usage: o365-fluent-bridge status --config FILE/);
    assert.equal(spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' }).status, 0);
    assert.equal(spawnSync(process.execPath, [CLI], { encoding: 'utf8' }).status, 2);
  });

  it('wantsHelp: --help or -h before a --, nothing else', () => {
    assert.equal(wantsHelp(['--config', 'x', '--help']), true);
    assert.equal(wantsHelp(['-h']), true);
    assert.equal(wantsHelp(['--', '--help']), false);
    assert.equal(wantsHelp(['--helpful']), false);
    assert.equal(wantsHelp([]), false);
  });
});

describe('cli: demo', () => {
  it('names the --fluentd-port it found nothing on', async function () {
    this.timeout(60_000);
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const child = spawn(process.execPath, [CLI, 'demo', '--fluentd-port', String(port), '--hours', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const seen = new Promise<void>((resolve) => {
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString('utf8');
        if (/no Fluentd on|delivering to Fluentd/.test(err)) resolve();
      });
      child.on('close', () => resolve());
    });
    await seen;
    child.kill('SIGKILL');
    assert.match(err, new RegExp(`demo: no Fluentd on 127\\.0\\.0\\.1:${port};`));
  });
});
