/**
 * Bad configuration against the real CLI: every setting with a wrong type or value at once, missing
 * secrets, unreadable certificate files, a state directory that is a file. Each is a clear one-line
 * problem naming the key, exit code 2, before any network call, and no secret value is echoed.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KNOWN_SECRET, KNOWN_SHARED_KEY, printTableAtEnd, Scenario, addRow } from '../support/faults-harness';

printTableAtEnd();

describe('faults: configuration', function () {
  let s: Scenario | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  function noSecretsIn(text: string) {
    assert.ok(!text.includes(KNOWN_SECRET), 'the client secret is echoed');
    assert.ok(!text.includes(KNOWN_SHARED_KEY), 'the shared key is echoed');
  }

  function configRow(name: string, ok: boolean, note: string) {
    addRow({ scenario: name, generated: 0, delivered: 0, duplicates: 0, lost: 0, lostAtSource: 0, verdict: ok ? 'pass' : 'FAIL', note });
  }

  async function expectConfigError(sc: Scenario, env: Record<string, string | undefined> = {}) {
    const r = await sc.runToEnd(env);
    const { code } = await r.exited;
    assert.equal(code, 2, r.out.slice(-3000));
    assert.equal(sc.front.requests.token + sc.front.requests.listing, 0, 'no network call with a bad config');
    assert.equal(sc.rx.connections, 0);
    noSecretsIn(r.out);
    return r;
  }

  it('every setting with a wrong type or value: all problems reported at once, each naming its key', async () => {
    s = await Scenario.start('config: every setting wrong');
    const t = (s.config.tenants as Array<Record<string, unknown>>)[0];
    const bad: Record<string, unknown> = {
      tenants: [
        {
          id: 'not-a-guid',
          name: 5,
          cloud: 'mars',
          authorityUrl: 'ftp://example',
          apiUrl: 42,
          clientId: 'nope',
          // A secret pasted into the file instead of a reference: refused without echoing it.
          clientSecret: KNOWN_SECRET,
          contentTypes: ['Audit.Nope'],
          publisherId: 7,
        },
      ],
      http: { caFile: '', proxy: 'socks://proxy:1080', noProxy: 'a-string', timeoutSeconds: 0, maxBlobMB: 'big', requestsPerMinute: -1 },
      poll: { intervalSeconds: 1, initialLookbackHours: 200, trailingWindowMinutes: -5, blobConcurrency: 0, tenantConcurrency: 1000, once: 'yes' },
      sink: {
        type: 'kafka',
        host: '',
        port: 70000,
        tls: { enabled: 'no', caFile: 3, servername: '', rejectUnauthorized: 'x' },
        sharedKey: KNOWN_SHARED_KEY,
        username: 5,
        ackTimeoutSeconds: 0,
        maxBatchBytes: 10,
        maxBatchEvents: 0,
        maxInFlightBatches: 100,
      },
      tagPrefix: 'Bad Prefix',
      validation: { mode: 'lax' },
      stateDir: '',
      dedup: { recordIds: -1 },
      log: { level: 'loud' },
      metrics: { enabled: 'y', host: '', port: -1 },
      unknownSetting: true,
    };
    assert.ok(t);
    fs.writeFileSync(s.configFile, JSON.stringify(bad, null, 2));
    const r = await expectConfigError(s);
    const keys = [
      'tenants[0].id', 'tenants[0].name', 'tenants[0].cloud', 'tenants[0].authorityUrl', 'tenants[0].apiUrl', 'tenants[0].clientId',
      'tenants[0].clientSecret', 'tenants[0].contentTypes', 'tenants[0].publisherId',
      'http.caFile', 'http.proxy', 'http.noProxy', 'http.timeoutSeconds', 'http.maxBlobMB', 'http.requestsPerMinute',
      'poll.intervalSeconds', 'poll.initialLookbackHours', 'poll.trailingWindowMinutes', 'poll.blobConcurrency', 'poll.tenantConcurrency', 'poll.once',
      'sink.type', 'sink.host', 'sink.port', 'sink.tls.enabled', 'sink.tls.caFile', 'sink.tls.servername', 'sink.tls.rejectUnauthorized',
      'sink.sharedKey', 'sink.username', 'sink.ackTimeoutSeconds', 'sink.maxBatchBytes', 'sink.maxBatchEvents', 'sink.maxInFlightBatches',
      'tagPrefix', 'validation.mode', 'stateDir', 'dedup.recordIds', 'log.level', 'metrics.enabled', 'metrics.host', 'metrics.port', 'unknownSetting',
    ];
    const missing = keys.filter((k) => !r.out.includes(k));
    configRow(s.name, missing.length === 0, `${keys.length - missing.length}/${keys.length} keys named, exit 2`);
    assert.deepEqual(missing, [], `problems not reported:\n${r.out}`);
  });

  it('missing secrets: names the variables, exit 2', async () => {
    s = await Scenario.start('config: missing secrets');
    const r = await expectConfigError(s, { FAULTS_CLIENT_SECRET: undefined, FAULTS_SHARED_KEY: '' });
    assert.match(r.out, /tenants\[0\]\.clientSecret: environment variable FAULTS_CLIENT_SECRET is not set/);
    assert.match(r.out, /sink\.sharedKey: environment variable FAULTS_SHARED_KEY is empty/);
    configRow(s.name, true, 'both named, exit 2');
  });

  it('unreadable certificate files: each named, exit 2', async () => {
    s = await Scenario.start('config: unreadable certificate files');
    const notPem = path.join(s.dir, 'garbage.key');
    fs.writeFileSync(notPem, 'not a key');
    s.writeConfig({ tenants: [{ ...(s.config.tenants as object[])[0], clientSecret: undefined, certificate: { keyFile: 'missing.key', certFile: s.dir } }] });
    const cfg = JSON.parse(fs.readFileSync(s.configFile, 'utf8')) as { tenants: Array<Record<string, unknown>> };
    delete cfg.tenants[0].clientSecret;
    fs.writeFileSync(s.configFile, JSON.stringify(cfg));
    const r1 = await expectConfigError(s);
    assert.match(r1.out, /certificate\.keyFile: cannot read .*missing\.key \(ENOENT\)/);
    assert.match(r1.out, /certificate\.certFile: cannot read .* \(EISDIR\)/);
    cfg.tenants[0].certificate = { keyFile: notPem, certFile: notPem };
    fs.writeFileSync(s.configFile, JSON.stringify(cfg));
    const r2 = await expectConfigError(s);
    assert.match(r2.out, /is not an unencrypted PEM private key/);
    assert.match(r2.out, /is not a PEM certificate/);
    configRow(s.name, true, 'missing, directory and garbage files named');
  });

  it('a state directory that is a file: exit 2 before anything runs', async () => {
    s = await Scenario.start('config: state dir is a file');
    fs.writeFileSync(s.stateDir, 'I am a file');
    const r = await expectConfigError(s);
    assert.match(r.out, /stateDir: expected a directory; found a file/);
    configRow(s.name, true, 'exit 2');
  });
});
