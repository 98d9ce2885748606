/**
 * `doctor` (and `check-config --probe`) from the real CLI against the emulator (behind the fault
 * suite's front, which plays the answers the emulator has no knob for), the test receiver for the
 * sink checks, and, when ../shared/receivers is set up, a real Fluentd.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { startEmulator, type Emulator } from '../../src/emulator';
import { KNOWN_SECRET, KNOWN_SHARED_KEY, Scenario, waitUntil } from '../support/faults-harness';
import { startReceiver, type Receiver } from '../support/receiver';
import { makeTestCert } from '../support/receiver-tls';

const ENABLED = ['Audit.General', 'Audit.Exchange'];

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function doctor(sc: Scenario, env: Record<string, string | undefined> = {}, args = ['doctor', '--config', sc.configFile]): Promise<{ code: number | null; out: string }> {
  const run = sc.spawn(env, args);
  const { code } = await run.finish(90_000);
  return { code, out: run.out };
}

const line = (out: string, re: RegExp) => out.split('\n').find((l) => re.test(l));

describe('doctor (real CLI, emulator, test receiver)', function () {
  this.timeout(120_000);
  let sc: Scenario | undefined;
  const extra: Array<{ stop(): Promise<void> }> = [];
  const start = (name: string, o: Parameters<typeof Scenario.start>[1] = {}) =>
    Scenario.start(name, { ...o, emulator: { historyHours: 1, enabledAtStart: ENABLED, ...o.emulator } }).then((s) => (sc = s));
  afterEach(async () => {
    for (const x of extra.splice(0)) await x.stop();
    await sc?.close();
    sc = undefined;
  });

  /** A second emulator whose tenant is the scenario's own, with these token roles. */
  async function emulatorWithRoles(s: Scenario, roles: string[], contentTypes: string[]): Promise<Emulator> {
    const emu = await startEmulator({
      https: true,
      seed: 'roles',
      historyHours: 1,
      enabledAtStart: contentTypes,
      tenants: [{ tenantId: s.tenantId, clientId: s.clientId, clientSecret: KNOWN_SECRET, roles }],
    });
    extra.push(emu);
    fs.writeFileSync(path.join(s.dir, 'ca.pem'), s.emu.ca! + emu.ca!);
    s.writeConfig({ tenants: [{ ...(s.config.tenants as Array<Record<string, unknown>>)[0], authorityUrl: emu.url, apiUrl: emu.url, contentTypes }] });
    return emu;
  }

  it('all ✔ and exit 0 when everything answers; the test event reaches the receiver, acknowledged', async () => {
    const s = await start('doctor-ok');
    const { code, out } = await doctor(s);
    assert.equal(code, 0, out);
    for (const re of [/^✔ tenant t0: token: acquired, roles ActivityFeed\.Read, ActivityFeed\.ReadDlp$/, /^✔ tenant t0: subscriptions: /, /^✔ tenant t0: Audit\.General: listed the last hour/, /^✔ tenant t0: Audit\.Exchange: listed/, /^✔ tenant t0: clock: /, /^✔ sink: TCP connection to 127\.0\.0\.1:\d+$/, /^✔ sink: shared-key handshake$/, /^✔ sink: test event acknowledged \(tag o365\.bridge\.probe\)$/, /^doctor: all 8 checks passed$/]) {
      assert.ok(line(out, re), `${re} in:\n${out}`);
    }
    assert.ok(!out.includes('✖'));
    assert.equal(s.rx.acked, 1);
    assert.deepEqual([...s.rx.countByTag()], [['o365.bridge.probe', 1]]);
    assert.deepEqual(s.secretLeaks(), []);
  });

  it('check-config --probe FILE is the same check', async () => {
    const s = await start('doctor-alias');
    const { code, out } = await doctor(s, {}, ['check-config', '--probe', s.configFile]);
    assert.equal(code, 0, out);
    assert.match(out, /doctor: all 8 checks passed/);
  });

  it('auth failure: ✖ token AUTH_FAILED with the fix, nothing else asked of the tenant, exit 3', async () => {
    const s = await start('doctor-auth');
    const { code, out } = await doctor(s, { FAULTS_CLIENT_SECRET: 'wrong-secret-value' });
    assert.equal(code, 3, out);
    assert.match(out, /^✖ tenant t0: token: AUTH_FAILED: token request failed/m);
    assert.match(out, /^ {4}fix: check tenant id, client id, secret expiry or certificate upload$/m);
    assert.ok(!line(out, /tenant t0: subscriptions/));
    assert.match(out, /^✔ sink: test event acknowledged/m);
    assert.match(out, /doctor: 1 of \d+ checks failed \(exit 3: a tenant could not authenticate/);
    assert.deepEqual(s.secretLeaks(), []);
  });

  it('403 AF10001: ✖ subscriptions API_FORBIDDEN, fix: permission and admin consent', async () => {
    const s = await start('doctor-af10001');
    s.front.hooks.replace = (r) =>
      r.route === 'subscriptions' ? { status: 403, body: JSON.stringify({ error: { code: 'AF10001', message: 'The permission set () sent in the request did not include the expected permission ActivityFeed.Read.' } }) } : undefined;
    const { code, out } = await doctor(s);
    assert.equal(code, 3, out);
    assert.match(out, /^✖ tenant t0: subscriptions: API_FORBIDDEN: the token lacks ActivityFeed\.Read/m);
    assert.match(out, /^ {4}fix: add the application permission and grant admin consent$/m);
  });

  it('a token without roles (no admin consent): ✖ permissions API_FORBIDDEN naming admin consent', async () => {
    const s = await start('doctor-noroles');
    await emulatorWithRoles(s, [], ['Audit.General']);
    const { code, out } = await doctor(s);
    assert.equal(code, 3, out);
    assert.match(out, /^✖ tenant t0: permissions: API_FORBIDDEN: the token lacks ActivityFeed\.Read$/m);
    assert.match(out, /also: no roles at all: admin consent was not granted/);
  });

  it('DLP.All without ActivityFeed.ReadDlp: ✖ permissions naming ReadDlp', async () => {
    const s = await start('doctor-dlp');
    await emulatorWithRoles(s, ['ActivityFeed.Read'], ['Audit.General', 'DLP.All']);
    const { code, out } = await doctor(s);
    assert.equal(code, 3, out);
    assert.match(out, /^✖ tenant t0: permissions: API_FORBIDDEN: the token lacks ActivityFeed\.ReadDlp \(needed for DLP\.All\)$/m);
    assert.match(out, /also: add the Office 365 Management APIs application permission ActivityFeed\.ReadDlp and grant admin consent/);
    assert.match(out, /^✔ tenant t0: DLP\.All: listed/m);
  });

  it('AF20022 (not subscribed): ✖ per content type with the fix; listing AF20022 too', async () => {
    const s = await start('doctor-af20022', { emulator: { enabledAtStart: ['Audit.General'] } });
    const { code, out } = await doctor(s);
    assert.equal(code, 3, out);
    assert.match(out, /^✔ tenant t0: Audit\.General: listed/m);
    assert.match(out, /^✖ tenant t0: Audit\.Exchange: API_NOT_SUBSCRIBED: the subscription is not enabled/m);
    assert.match(out, /^ {4}fix: subscriptions start; content can take 12 h to appear$/m);
    // Enabled in the list, refused on listing (a subscription stopped in between).
    s.front.hooks.replace = (r) => (r.route === 'listing' ? { status: 400, body: JSON.stringify({ error: { code: 'AF20022', message: 'No subscription found for the specified content type.' } }) } : undefined);
    const again = await doctor(s);
    assert.equal(again.code, 3, again.out);
    assert.match(again.out, /^✖ tenant t0: Audit\.General: API_NOT_SUBSCRIBED: no subscription for this content type/m);
  });

  it('tenant does not exist (audit logging off): ✖ API_TENANT, fix names audit logging', async () => {
    const s = await start('doctor-tenant');
    s.front.hooks.replace = (r) =>
      r.route === 'subscriptions'
        ? { status: 400, body: JSON.stringify({ error: { code: `StartSubscription [TenantId=${s.tenantId}] failed. Exception`, message: `Microsoft.Office.Compliance.Audit.DataServiceException: Tenant ${s.tenantId} does not exist.` } }) }
        : undefined;
    const { code, out } = await doctor(s);
    assert.equal(code, 3, out);
    assert.match(out, /^✖ tenant t0: subscriptions: API_TENANT: the API says the tenant does not exist/m);
    assert.match(out, /^ {4}fix: usually unified audit logging is off, or admin consent is missing; check the tenant id$/m);
    s.front.hooks.replace = (r) => (r.route === 'subscriptions' ? { status: 400, body: JSON.stringify({ error: { code: 'AF20011', message: `Specified tenant ID (${s.tenantId}) does not exist in the system or has been deleted.` } }) } : undefined);
    const af = await doctor(s);
    assert.equal(af.code, 3, af.out);
    assert.match(af.out, /^✖ tenant t0: subscriptions: API_TENANT: the tenant does not exist or was deleted \(AF20011/m);
  });

  it('throttling: ✖ API_THROTTLED with the fix, exit 5 (transient)', async () => {
    const s = await start('doctor-throttled', { emulator: { requestsPerMinute: 1 } });
    const { code, out } = await doctor(s);
    assert.equal(code, 5, out);
    assert.match(out, /^✖ tenant t0: Audit\.\w+: API_THROTTLED: throttled by the API \(AF429/m);
    assert.match(out, /^ {4}fix: retried with backoff honouring Retry-After; lower http\.requestsPerMinute; set publisherId$/m);
  });

  it('cloud mismatch: the authority does not know the API (AADSTS500011), or the API refuses the token (401)', async () => {
    const s = await start('doctor-cloud');
    const other = await startEmulator({ https: true, seed: 'other-cloud', tenants: [{ tenantId: s.tenantId, clientId: s.clientId, clientSecret: KNOWN_SECRET }] });
    extra.push(other);
    fs.writeFileSync(path.join(s.dir, 'ca.pem'), s.emu.ca! + other.ca!);
    s.writeConfig({ tenants: [{ ...(s.config.tenants as Array<Record<string, unknown>>)[0], authorityUrl: other.url }] });
    const { code, out } = await doctor(s);
    assert.equal(code, 3, out);
    assert.match(out, /^✖ tenant t0: token: AUTH_FAILED: .*AADSTS500011/m);
    assert.match(out, /also: the API \(resource\) is unknown to this authority: usually a cloud mismatch/);
    // Same cloud for the token, and an API that refuses it anyway (its audience is another cloud's).
    s.writeConfig({ tenants: [{ ...(s.config.tenants as Array<Record<string, unknown>>)[0], authorityUrl: s.front.url }] });
    s.front.hooks.replace = (r) => (r.route === 'subscriptions' ? { status: 401, headers: { 'WWW-Authenticate': 'Bearer' }, body: JSON.stringify({ Message: 'Authorization has been denied for this request.' }) } : undefined);
    const refused = await doctor(s);
    assert.equal(refused.code, 3, refused.out);
    assert.match(refused.out, /^✖ tenant t0: subscriptions: API_UNAUTHORIZED: /m);
    assert.match(refused.out, /fix: usually a cloud mismatch/);
  });

  it('clock skew: ✖ clock API_BAD_WINDOW when the API clock is 10 minutes ahead', async () => {
    const s = await start('doctor-clock');
    const ahead = new Date(Date.now() + 10 * 60_000).toUTCString();
    s.front.hooks.replace = (r) => (r.route === 'listing' ? { status: 200, headers: { Date: ahead }, body: '[]' } : undefined);
    const { code, out } = await doctor(s);
    assert.notEqual(code, 0, out);
    assert.match(out, /^✖ tenant t0: clock: API_BAD_WINDOW: this clock is \d+ s behind the API's$/m);
    assert.match(out, /also: sync the system clock \(NTP\)/);
  });

  it('proxy/CA: without the CA, ✖ token AUTH_UNAVAILABLE with the proxy/CA hint, exit 3', async () => {
    const s = await start('doctor-ca');
    s.writeConfig({ http: { caFile: null } });
    const cfg = s.config as { http: Record<string, unknown> };
    delete cfg.http.caFile;
    s.writeConfig();
    const { code, out } = await doctor(s);
    assert.equal(code, 3, out);
    assert.match(out, /^✖ tenant t0: token: AUTH_UNAVAILABLE: /m);
    assert.match(out, /also: a proxy or TLS problem: set http\.proxy .* http\.caFile/);
  });

  it('sink, wrong shared key: ✖ handshake SINK_AUTH with the fix, exit 4', async () => {
    const s = await start('doctor-sharedkey');
    const { code, out } = await doctor(s, { FAULTS_SHARED_KEY: 'not-the-receivers-key' });
    assert.equal(code, 4, out);
    assert.match(out, /^✔ sink: TCP connection/m);
    assert.match(out, /^✖ sink: shared-key handshake: SINK_AUTH: /m);
    assert.match(out, /^ {4}fix: the message names the setting: same shared_key \(and user\/password\) on both sides; /m);
    assert.equal(s.rx.acked, 0);
    assert.deepEqual(s.secretLeaks(), []);
  });

  it('sink unreachable: ✖ TCP SINK_UNREACHABLE, exit 4', async () => {
    const s = await start('doctor-unreachable');
    // Port 1, where nothing listens (a port found free could be taken by a parallel suite's listener).
    s.writeConfig({ sink: { port: 1 } });
    const { code, out } = await doctor(s);
    assert.equal(code, 4, out);
    assert.match(out, /^✖ sink: TCP connection to 127\.0\.0\.1:\d+: SINK_UNREACHABLE: ECONNREFUSED$/m);
    assert.match(out, /also: check sink\.host and sink\.port/);
  });

  describe('TLS', () => {
    let rx: Receiver | undefined;
    afterEach(async () => {
      await rx?.stop();
      rx = undefined;
    });

    it('TLS with the right CA: ✔ TLS certificate verified', async () => {
      const s = await start('doctor-tls-ok');
      const cert = makeTestCert();
      rx = await startReceiver({ sharedKey: KNOWN_SHARED_KEY, tls: cert });
      fs.writeFileSync(path.join(s.dir, 'rx-ca.pem'), cert.caPem);
      s.writeConfig({ sink: { port: rx.port, tls: { enabled: true, caFile: 'rx-ca.pem', servername: 'receiver.test' } } });
      const { code, out } = await doctor(s);
      assert.equal(code, 0, out);
      assert.match(out, /^✔ sink: TLS: certificate verified$/m);
      assert.equal(rx.acked, 1);
    });

    it('TLS with a CA that did not sign the receiver: ✖ TLS SINK_AUTH', async () => {
      const s = await start('doctor-tls-ca');
      rx = await startReceiver({ sharedKey: KNOWN_SHARED_KEY, tls: makeTestCert() });
      fs.writeFileSync(path.join(s.dir, 'rx-ca.pem'), makeTestCert().caPem);
      s.writeConfig({ sink: { port: rx.port, tls: { enabled: true, caFile: 'rx-ca.pem', servername: 'receiver.test' } } });
      const { code, out } = await doctor(s);
      assert.equal(code, 4, out);
      assert.match(out, /^✖ sink: TLS: SINK_AUTH: .*(certificate|CA)/m);
      assert.match(out, /also: the receiver's certificate must be signed by sink\.tls\.caFile/);
      assert.ok(!line(out, /sink: test event acknowledged/));
    });

    it('TLS on the bridge, plain receiver: ✖ naming sink.tls.enabled, without the CA hint', async () => {
      const s = await start('doctor-tls-client-only');
      fs.writeFileSync(path.join(s.dir, 'rx-ca.pem'), makeTestCert().caPem);
      s.writeConfig({ sink: { tls: { enabled: true, caFile: 'rx-ca.pem' }, ackTimeoutSeconds: 2 } });
      const { code, out } = await doctor(s);
      assert.equal(code, 4, out);
      // The sink's message names the setting (TLS on one side only); no CA hint for a protocol mismatch.
      assert.match(out, /^✖ sink: (TLS|forward protocol on 127\.0\.0\.1:\d+): SINK_(AUTH|UNREACHABLE): .*ERR_SSL_WRONG_VERSION_NUMBER/m);
      assert.match(out, /sink\.tls\.enabled/);
      assert.ok(!out.includes('must be signed by sink.tls.caFile'), out);
      assert.equal(s.rx.acked, 0);
    });

    it('plain bridge, TLS receiver: ✖ with the hint to set sink.tls.enabled', async () => {
      const s = await start('doctor-tls-server-only');
      rx = await startReceiver({ sharedKey: KNOWN_SHARED_KEY, tls: makeTestCert() });
      s.writeConfig({ sink: { port: rx.port, ackTimeoutSeconds: 2 } });
      const { code, out } = await doctor(s);
      assert.equal(code, 4, out);
      // The bridge waits for a HELO the TLS receiver never sends in clear: a handshake or protocol failure.
      assert.match(out, /^✖ sink: (shared-key handshake|forward protocol on 127\.0\.0\.1:\d+): SINK_(AUTH|UNREACHABLE): /m);
      assert.match(out, /also: .*sink\.tls\.enabled/);
    });
  });
});

// ---- a real Fluentd -------------------------------------------------------------------------------

const FLUENTD = path.resolve(__dirname, '../../../../shared/receivers/bin/fluentd');

function fluentdRuns(): string | null {
  if (!fs.existsSync(FLUENTD)) return `${FLUENTD} is absent (no ../shared/receivers)`;
  const r = spawnSync(FLUENTD, ['--version'], { encoding: 'utf8', timeout: 60_000 });
  return r.status === 0 ? null : `fluentd does not start (run ../shared/receivers/setup): ${(r.stderr || r.stdout || '').slice(0, 200)}`;
}

describe('doctor against a real Fluentd (../shared/receivers)', function () {
  this.timeout(180_000);
  let sc: Scenario | undefined;
  let fluentd: ChildProcess | undefined;
  let why: string | null = null;
  before(function () {
    why = fluentdRuns();
    if (why) {
      process.stdout.write(`      (skipped: ${why})\n`);
      this.skip();
    }
  });
  after(async () => {
    if (fluentd && fluentd.exitCode === null) {
      const gone = new Promise((r) => fluentd!.once('exit', r));
      fluentd.kill('SIGTERM');
      await gone;
    }
    await sc?.close();
  });

  it('the handshake with its shared key and one acknowledged event to <prefix>.bridge.probe; a wrong key is ✖ SINK_AUTH', async () => {
    sc = await Scenario.start('doctor-fluentd', { emulator: { historyHours: 1, enabledAtStart: ENABLED } });
    const port = await freePort();
    const outDir = path.join(sc.dir, 'fluentd-out');
    const conf = path.join(sc.dir, 'fluent.conf');
    fs.writeFileSync(
      conf,
      [
        '<system>',
        '  log_level warn',
        '</system>',
        '<source>',
        '  @type forward',
        `  port ${port}`,
        '  bind 127.0.0.1',
        '  <security>',
        '    self_hostname fluentd.test',
        `    shared_key ${KNOWN_SHARED_KEY}`,
        '  </security>',
        '</source>',
        '<match o365.bridge.probe>',
        '  @type file',
        `  path ${outDir}/probe`,
        '  <buffer>',
        '    flush_mode immediate',
        '  </buffer>',
        '</match>',
        '',
      ].join('\n'),
    );
    let log = '';
    fluentd = spawn(FLUENTD, ['-c', conf, '--no-supervisor'], { stdio: ['ignore', 'pipe', 'pipe'] });
    fluentd.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    fluentd.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const reachable = () =>
      new Promise<boolean>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port }, () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
    await waitUntil(async () => fluentd!.exitCode !== null || (await reachable()), 90_000, 'fluentd listening');
    assert.equal(fluentd.exitCode, null, log);
    sc.writeConfig({ sink: { port } });
    const ok = await doctor(sc);
    assert.equal(ok.code, 0, ok.out + log);
    assert.match(ok.out, /^✔ sink: shared-key handshake$/m);
    assert.match(ok.out, /^✔ sink: test event acknowledged \(tag o365\.bridge\.probe\)$/m);
    const written = (d: string): boolean =>
      fs.existsSync(d) && fs.readdirSync(d, { withFileTypes: true }).some((f) => (f.isDirectory() ? written(path.join(d, f.name)) : fs.readFileSync(path.join(d, f.name), 'utf8').includes('doctor: connection check')));
    await waitUntil(() => written(outDir), 30_000, 'the probe event in fluentd output');

    const bad = await doctor(sc, { FAULTS_SHARED_KEY: 'not-fluentds-key' });
    assert.equal(bad.code, 4, bad.out);
    assert.match(bad.out, /^✖ sink: shared-key handshake: SINK_AUTH: /m);
  });
});
