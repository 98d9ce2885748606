/** The demo from the real CLI, piped (not a terminal): what it does today, and --out. In the faults tier: it runs the CLI. */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { startReceiver, type Receiver } from '../support/receiver';

const CLI = path.resolve(__dirname, '../../src/cli.js');

function demo(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    // 3 h, not 1: the emulator places one or two blobs per content type in each hour, so a 1-hour
    // window can hold under 100 records depending on the minute the test runs (CI failed at 23:xx).
    const c = spawn(process.execPath, [CLI, 'demo', '--hours', '3', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('demo (real CLI, not a terminal)', function () {
  this.timeout(120_000);
  let rx: Receiver | undefined;
  afterEach(async () => {
    await rx?.stop();
    rx = undefined;
  });

  it('piped, no Fluentd: JSON lines on stdout, the summary on stderr naming the port it tried', async () => {
    const port = await freePort();
    const r = await demo(['--fluentd-port', String(port)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`no Fluentd on 127\\.0\\.0\\.1:${port}; events go to stdout as JSON lines`));
    const lines = r.stdout.trim().split('\n');
    assert.ok(lines.length > 100);
    for (const l of lines) assert.deepEqual(Object.keys(JSON.parse(l)), ['tag', 'time', 'record']);
    assert.match(r.stderr, /\nsummary\n {2}blobs \d+, records \d+/);
    assert.ok(!r.stderr.includes('sample events'));
  });

  it('with Fluentd listening: delivered to it with acknowledgements, nothing on stdout; --stdout overrides', async () => {
    rx = await startReceiver({ store: 'ids' });
    const r = await demo(['--fluentd-port', String(rx.port)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`delivering to Fluentd at 127\\.0\\.0\\.1:${rx.port} with acknowledgements`));
    assert.equal(r.stdout, '');
    assert.ok(rx.acked > 100);
    const acked = rx.acked;
    const s = await demo(['--fluentd-port', String(rx.port), '--stdout']);
    assert.equal(s.code, 0, s.stderr);
    assert.equal(rx.acked, acked);
    // Its own summary, not the first run's count: the 3-hour window moves between the two runs.
    const m = /\n {2}blobs \d+, records (\d+)/.exec(s.stderr);
    assert.ok(m, s.stderr);
    assert.equal(s.stdout.trim().split('\n').length, Number(m[1]));
    assert.ok(Number(m[1]) > 100);
  });

  it('--out FILE: the events in the file, then one sample per Defender type, the summary, and where they went', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'o365fb-demo-'));
    try {
      const file = path.join(dir, 'events.ndjson');
      const r = await demo(['--fluentd-port', String(await freePort()), '--out', file]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '');
      const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
      assert.ok(lines.length > 100);
      const i = { samples: r.stderr.indexOf('sample events'), summary: r.stderr.indexOf('\nsummary\n'), where: r.stderr.indexOf(`events (JSON lines: tag, time, record) are in ${file}`) };
      assert.ok(i.samples > 0 && i.summary > i.samples && i.where > i.summary, r.stderr);
      assert.match(r.stderr, new RegExp(`demo: all ${lines.length} events`));
      for (const tag of ['threat_intelligence', 'threat_intelligence_url', 'threat_intelligence_atp_content', 'air_investigation']) {
        assert.match(r.stderr, new RegExp(`^ {2}o365\\.audit\\.general\\.${tag} {2}\\(RecordType \\d+ `, 'm'));
      }
      assert.match(r.stderr, /^ {4} {2}"RecordType": 28,$/m);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
