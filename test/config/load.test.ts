import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { loadConfig, validateConfigObject, ConfigError, summarizeConfig, configSchema, readBoundedFileSync } from '../../src/config/load';
import { isBridgeError } from '../../src/errors';
import { createLogger } from '../../src/obs/log';
import { CONTENT_TYPES } from '../../src/contracts';
import { packageRoot } from '../../src/paths';
import { makeSelfSignedCert, type TestCert } from './certs';
import { stage, type Staged } from './fixtures';

const T1 = '11111111-1111-1111-1111-111111111111';
const C1 = '22222222-2222-2222-2222-222222222222';
const ENV = { TEST_CLIENT_SECRET: 'Env-Secret-Value-42', TEST_EMPTY_SECRET: '' };

async function problemsOf(s: Staged, env: NodeJS.ProcessEnv = ENV): Promise<{ code: string; problems: string[] }> {
  try {
    await loadConfig(s.file, env);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    assert.ok(isBridgeError(e));
    return { code: e.code, problems: s.clean(e.problems) };
  }
  assert.fail('expected the config to be rejected');
}

describe('config: one fixture per rule, exact messages', () => {
  let certA: TestCert;
  let certB: TestCert;
  const staged: Staged[] = [];
  const st = (name: string) => {
    const s = stage(name);
    staged.push(s);
    return s;
  };
  before(() => {
    certA = makeSelfSignedCert('a');
    certB = makeSelfSignedCert('b');
  });
  after(() => staged.forEach((s) => s.remove()));

  const cases: Array<[string, string, string[]]> = [
    ['bad-type.yaml', 'CONFIG_INVALID', ['poll.intervalSeconds: expected an integer; found "300"', 'sink.tls.enabled: expected true or false; found "yes"']],
    [
      'unknown-key.yaml',
      'CONFIG_INVALID',
      [
        'stateDirectory: unknown key (did you mean "stateDir"?)',
        'tenants[0].contentType: unknown key (did you mean "contentTypes"?)',
        'poll.intervall: unknown key (did you mean "intervalSeconds"?)',
      ],
    ],
    ['bad-cloud.yaml', 'CONFIG_INVALID', ['tenants[1].cloud: expected one of commercial, gcc, gccHigh, dod, custom; found "azure"']],
    [
      'custom-cloud-without-urls.yaml',
      'CONFIG_INVALID',
      [
        'tenants[0].authorityUrl: expected a value (required when cloud is "custom"); found nothing',
        'tenants[0].apiUrl: expected a value (required when cloud is "custom"); found nothing',
      ],
    ],
    ['custom-cloud-bad-url.yaml', 'CONFIG_INVALID', ['tenants[0].authorityUrl: expected an http:// or https:// URL; found "login.example.test"']],
    ['both-credentials.yaml', 'CONFIG_INVALID', ['tenants[0]: expected exactly one of clientSecret or certificate; found both']],
    ['no-credential.yaml', 'CONFIG_INVALID', ['tenants[0]: expected exactly one of clientSecret or certificate; found none']],
    [
      'secret-inline.yaml',
      'CONFIG_INVALID',
      ['tenants[0].clientSecret: expected { env: NAME } or { file: PATH }; found a string (value not shown)', 'sink.sharedKey.value: unknown key (expected one of env, file)'],
    ],
    ['secret-ref-both.yaml', 'CONFIG_INVALID', ['tenants[0].clientSecret: expected { env: NAME } or { file: PATH }; found env and file']],
    ['missing-secret-env.yaml', 'SECRET_UNREADABLE', ['tenants[0].clientSecret: environment variable TEST_UNSET_SECRET is not set; set it to the secret']],
    [
      'missing-secret-file.yaml',
      'SECRET_UNREADABLE',
      ['tenants[0].clientSecret: cannot read secret file <dir>/no-such-secret.txt (ENOENT)', 'sink.sharedKey: environment variable TEST_EMPTY_SECRET is empty; set it to the secret'],
    ],
    [
      'unreadable-key-file.yaml',
      'SECRET_UNREADABLE',
      ['tenants[0].certificate.keyFile: cannot read <dir>/missing.key.pem (ENOENT)', 'tenants[0].certificate.certFile: cannot read <dir>/missing.cert.pem (ENOENT)'],
    ],
    ['lookback-too-large.yaml', 'CONFIG_INVALID', ['poll.intervalSeconds: expected at least 10; found 0', 'poll.initialLookbackHours: expected at most 168; found 200']],
    [
      'bad-guid.yaml',
      'CONFIG_INVALID',
      [
        'tenants[0].id: expected a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx); found "contoso.onmicrosoft.com"',
        'tenants[0].publisherId: expected a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx); found 1234',
      ],
    ],
    ['duplicate-tenant.yaml', 'CONFIG_INVALID', ['tenants[1].id: expected a tenant id not used before; found the id of tenants[0]']],
    [
      'bad-content-types.yaml',
      'CONFIG_INVALID',
      [
        'tenants[0].contentTypes[2]: expected one of Audit.AzureActiveDirectory, Audit.Exchange, Audit.SharePoint, Audit.General, DLP.All; found "Audit.Defender"',
        'tenants[0].contentTypes: expected no duplicates; found "Audit.General" twice',
      ],
    ],
    ['state-dir-is-file.yaml', 'CONFIG_INVALID', ['stateDir: expected a directory; found a file at <dir>/state-dir-is-file.yaml']],
    [
      'user-without-password.yaml',
      'CONFIG_INVALID',
      ['sink.password: expected a value (required when username is set); found nothing', 'sink.sharedKey: expected a value (required when username is set); found nothing'],
    ],
    ['no-tenants.yaml', 'CONFIG_INVALID', ['tenants: expected a list of at least one tenant; found an empty list']],
    ['empty.yaml', 'CONFIG_INVALID', ['(top level): expected a mapping with at least "tenants"; found nothing']],
    ['bad-tag-prefix.yaml', 'CONFIG_INVALID', ['tagPrefix: expected lower-case words of a-z, 0-9 and _ separated by dots (e.g. o365); found "O365.Audit"']],
  ];

  for (const [fixture, code, expected] of cases) {
    it(`${fixture} → ${code}: ${expected.length} problem(s)`, async () => {
      const s = st(fixture);
      const r = await problemsOf(s);
      assert.equal(r.code, code);
      assert.deepEqual(r.problems, expected.map((p) => `<dir>/${fixture}: ${p}`));
    });
  }

  it('YAML syntax errors name line and column', async () => {
    const s = st('yaml-syntax.yaml');
    const r = await problemsOf(s);
    assert.equal(r.code, 'CONFIG_INVALID');
    assert.deepEqual(r.problems, [
      '<dir>/yaml-syntax.yaml:4:1: cannot parse: Sequence item without - indicator',
      '<dir>/yaml-syntax.yaml:5:1: cannot parse: Flow map in block collection must be sufficiently indented and end with a }',
    ]);
  });

  it('a duplicate key is a problem, not a silent override', async () => {
    const r = await problemsOf(st('duplicate-key.yaml'));
    assert.deepEqual(r.problems, ['<dir>/duplicate-key.yaml:7:3: cannot parse: Map keys must be unique']);
  });

  it('an unreadable config file is CONFIG_UNREADABLE', async () => {
    const s = st('valid-minimal.yaml');
    const missing = path.join(s.dir, 'nope.yaml');
    await assert.rejects(loadConfig(missing, ENV), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.code, 'CONFIG_UNREADABLE');
      assert.deepEqual(s.clean(e.problems), ['<dir>/nope.yaml: cannot read the config file (ENOENT); check the path and its permissions']);
      return true;
    });
  });

  it('a key and a certificate of different pairs are reported', async () => {
    const s = st('key-cert-mismatch.yaml');
    s.write('other.key.pem', certB.keyPem);
    s.write('tenant.cert.pem', certA.certPem);
    const r = await problemsOf(s);
    assert.equal(r.code, 'SECRET_UNREADABLE');
    assert.deepEqual(r.problems, ['<dir>/key-cert-mismatch.yaml: tenants[0].certificate: the key in <dir>/other.key.pem does not belong to the certificate in <dir>/tenant.cert.pem']);
  });

  it('a file that is not PEM is reported for key and certificate', async () => {
    const s = st('valid-certificate.yaml');
    s.write('tenant.key.pem', 'not a key\n');
    s.write('tenant.cert.pem', 'not a certificate\n');
    const r = await problemsOf(s);
    assert.deepEqual(r.problems, [
      '<dir>/valid-certificate.yaml: tenants[0].certificate.keyFile: <dir>/tenant.key.pem is not an unencrypted PEM private key',
      '<dir>/valid-certificate.yaml: tenants[0].certificate.certFile: <dir>/tenant.cert.pem is not a PEM certificate',
    ]);
  });

  it('never prints a secret typed inline', async () => {
    const s = st('secret-inline.yaml');
    const r = await problemsOf(s);
    const all = r.problems.join('\n');
    assert.ok(!all.includes('Inline-Secret-Value-9f8e7d'));
    assert.ok(!all.includes('Another-Inline-Secret-1a2b'));
  });
});

describe('config: valid files', () => {
  const staged: Staged[] = [];
  after(() => staged.forEach((s) => s.remove()));

  it('applies every default to a minimal file', async () => {
    const s = stage('valid-minimal.yaml');
    staged.push(s);
    const cfg = await loadConfig(s.file, ENV);
    assert.equal(cfg.sourceFile, s.file);
    assert.equal(cfg.tenants.length, 1);
    const t = cfg.tenants[0];
    assert.deepEqual(t, {
      id: T1,
      name: T1,
      cloud: 'commercial',
      clientId: C1,
      credential: { kind: 'secret', clientSecret: 'Env-Secret-Value-42' },
      contentTypes: [...CONTENT_TYPES],
      publisherId: T1,
    });
    assert.deepEqual(cfg.http, { noProxy: [], timeoutSeconds: 120, maxBlobMB: 256, requestsPerMinute: 1800 });
    assert.deepEqual(cfg.poll, { intervalSeconds: 300, initialLookbackHours: 24, trailingWindowMinutes: 180, reconcileIntervalMinutes: 360, blobConcurrency: 4, tenantConcurrency: 4, blobGiveUpSeconds: 21600, once: false });
    assert.deepEqual(cfg.sink, {
      type: 'forward',
      host: '127.0.0.1',
      port: 24224,
      tls: { enabled: false, rejectUnauthorized: true },
      ackTimeoutSeconds: 30,
      maxBatchBytes: 4194304,
      maxBatchEvents: 1000,
      maxInFlightBatches: 4,
    });
    assert.equal(cfg.tagPrefix, 'o365');
    assert.deepEqual(cfg.validation, { mode: 'default' });
    assert.equal(cfg.stateDir, path.join(s.dir, 'state'));
    assert.deepEqual(cfg.dedup, { recordIds: 100000 });
    assert.deepEqual(cfg.log, { level: 'info' });
    assert.deepEqual(cfg.metrics, { enabled: false, host: '127.0.0.1', port: 9464 });
  });

  it('reads JSON too', async () => {
    const s = stage('valid-minimal.json');
    staged.push(s);
    const cfg = await loadConfig(s.file, ENV);
    assert.equal(cfg.sink.type, 'stdout');
    assert.equal(summarizeConfig(cfg), `ok: 1 tenant (${T1}), sink stdout (no acknowledgements), state ${path.join(s.dir, 'state')}`);
  });

  it('reads a certificate credential, with thumbprints, relative to the config file', async () => {
    const s = stage('valid-certificate.yaml');
    staged.push(s);
    const cert = makeSelfSignedCert();
    s.write('tenant.key.pem', cert.keyPem);
    s.write('tenant.cert.pem', cert.certPem);
    const cfg = await loadConfig(s.file, {});
    const cred = cfg.tenants[0].credential;
    assert.equal(cred.kind, 'certificate');
    if (cred.kind !== 'certificate') return;
    assert.equal(cred.keyFile, path.join(s.dir, 'tenant.key.pem'));
    assert.equal(cred.privateKeyPem, cert.keyPem);
    assert.equal(cred.certificatePem, cert.certPem);
    assert.match(cred.thumbprintSha1, /^[0-9A-F]{40}$/);
    assert.match(cred.thumbprintSha256, /^[0-9A-F]{64}$/);
    assert.equal(cred.sendX5c, true);
    assert.equal(cfg.tenants[0].name, 'contoso');
    assert.equal(cfg.tenants[0].cloud, 'gccHigh');
    assert.deepEqual(cfg.tenants[0].contentTypes, ['Audit.General']);
  });

  it('config.example.yaml at the repo root is valid and shows every schema key', async () => {
    const s = stage('config.example.yaml', packageRoot);
    staged.push(s);
    const cert = makeSelfSignedCert();
    s.write('secrets/fabrikam.key.pem', cert.keyPem);
    s.write('secrets/fabrikam.cert.pem', cert.certPem);
    const cfg = await loadConfig(s.file, { CONTOSO_CLIENT_SECRET: 'x-example-secret' });
    assert.equal(cfg.tenants.length, 2);
    // Every key of the schema is mentioned in the example (set or commented out).
    const text = fs.readFileSync(s.file, 'utf8');
    const schema = configSchema as { $defs: Record<string, Record<string, unknown>> };
    const keys = new Set<string>();
    const walk = (node: Record<string, unknown>) => {
      const props = node.properties as Record<string, Record<string, unknown>> | undefined;
      if (props) for (const [k, v] of Object.entries(props)) (keys.add(k), walk(v));
      if (node.items) walk(node.items as Record<string, unknown>);
      if (typeof node.$ref === 'string') walk(schema.$defs[(node.$ref as string).split('/').pop() as string]);
    };
    walk(schema);
    for (const k of keys) assert.match(text, new RegExp(`\\b${k}\\b`), `config.example.yaml does not mention ${k}`);
  });

  it('resolves secrets from files (trailing newline removed) and registers them for redaction', async () => {
    const s = stage('valid-minimal.yaml');
    staged.push(s);
    s.write('secret.txt', 'File-Secret-Value-77\n');
    s.write('shared.key', 'Shared-Key-Value-88\r\n');
    fs.writeFileSync(
      s.file,
      `tenants:\n  - id: ${T1}\n    clientId: ${C1}\n    clientSecret: { file: secret.txt }\nsink:\n  sharedKey: { file: shared.key }\n  username: bridge\n  password: { env: FLUENT_PW }\nhttp:\n  proxy: http://user:Proxy-Pass-99@proxy.example.test:3128\n`,
    );
    const cfg = await loadConfig(s.file, { FLUENT_PW: 'Fluent-Password-66' });
    assert.deepEqual(cfg.tenants[0].credential, { kind: 'secret', clientSecret: 'File-Secret-Value-77' });
    assert.equal(cfg.sink.sharedKey, 'Shared-Key-Value-88');
    assert.equal(cfg.sink.password, 'Fluent-Password-66');
    const lines: string[] = [];
    const log = createLogger({ write: (l) => lines.push(l) });
    log.info('oops', { a: 'File-Secret-Value-77', b: 'Shared-Key-Value-88 Fluent-Password-66', c: cfg.http.proxy });
    assert.ok(!/File-Secret|Shared-Key-Value|Fluent-Password|Proxy-Pass-99/.test(lines[0]), lines[0]);
    assert.ok(!summarizeConfig(cfg).includes('Shared-Key-Value-88'));
  });

  it('a YAML alias bomb is CONFIG_INVALID with a line naming the problem', async () => {
    const s = stage('valid-minimal.yaml');
    staged.push(s);
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill('*' + String.fromCharCode(96 + i)).join(', ')}]`);
    fs.writeFileSync(s.file, lines.join('\n') + `\ntenants:\n  - id: ${T1}\n    clientId: ${C1}\n    clientSecret: { env: TEST_CLIENT_SECRET }\n`);
    const { code, problems } = await problemsOf(s);
    assert.equal(code, 'CONFIG_INVALID');
    assert.equal(problems.length, 1);
    assert.match(problems[0], /^<dir>\/valid-minimal\.yaml: cannot parse: YAML aliases expand too much/);
  });

  it('secret and PEM files must be regular files of bounded size: a FIFO, /dev/zero, a huge file are refused, never read for ever', async () => {
    const s = stage('valid-minimal.yaml');
    staged.push(s);
    const fifo = path.join(s.dir, 'secret.fifo');
    execFileSync('mkfifo', [fifo]);
    s.write('huge.pem', '-----BEGIN CERTIFICATE-----\n' + 'A'.repeat(5 * 1024 * 1024));
    const cfg = (secret: string, ca: string) =>
      fs.writeFileSync(s.file, `tenants:\n  - id: ${T1}\n    clientId: ${C1}\n    clientSecret: { file: ${secret} }\nhttp:\n  caFile: ${ca}\n`);
    cfg('secret.fifo', '/dev/zero');
    let r = await problemsOf(s);
    assert.equal(r.code, 'CONFIG_INVALID');
    assert.deepEqual(r.problems.sort(), [
      '<dir>/valid-minimal.yaml: http.caFile: cannot read /dev/zero (not a regular file)',
      '<dir>/valid-minimal.yaml: tenants[0].clientSecret: cannot read secret file <dir>/secret.fifo (a FIFO, not a regular file)',
    ]);
    cfg('/dev/zero', 'huge.pem');
    r = await problemsOf(s);
    assert.deepEqual(r.problems.sort(), [
      `<dir>/valid-minimal.yaml: http.caFile: cannot read <dir>/huge.pem (${5 * 1024 * 1024 + 28} bytes, over the ${4 * 1024 * 1024}-byte limit)`,
      '<dir>/valid-minimal.yaml: tenants[0].clientSecret: cannot read secret file /dev/zero (not a regular file)',
    ]);
  });

  it('validateConfigObject applies defaults on a copy and leaves the argument alone', () => {
    const input = { tenants: [{ id: T1, clientId: C1, clientSecret: { env: 'X' } }] };
    const raw = validateConfigObject(input, 'inline');
    assert.equal(raw.poll.intervalSeconds, 300);
    assert.deepEqual(Object.keys(input), ['tenants']);
  });

  it('reports every problem of a file at once', () => {
    assert.throws(
      () =>
        validateConfigObject(
          {
            tenants: [{ id: T1, clientId: C1, clientSecret: { env: 'X' } }, { id: 'x', cloud: 'azure', clientId: C1 }],
            poll: { intervall: 1, once: 'no' },
            sink: { type: 'kafka', port: 70000 },
          },
          'config.yaml',
        ),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.equal(e.code, 'CONFIG_INVALID');
        assert.deepEqual([...e.problems].sort(), [
          'config.yaml: poll.intervall: unknown key (did you mean "intervalSeconds"?)',
          'config.yaml: poll.once: expected true or false; found "no"',
          'config.yaml: sink.port: expected at most 65535; found 70000',
          'config.yaml: sink.type: expected one of forward, stdout, stdio; found "kafka"',
          'config.yaml: tenants[1]: expected exactly one of clientSecret or certificate; found none',
          'config.yaml: tenants[1].cloud: expected one of commercial, gcc, gccHigh, dod, custom; found "azure"',
          'config.yaml: tenants[1].id: expected a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx); found "x"',
        ].sort());
        assert.equal(e.message, 'config.yaml: 7 problems; fix them and run check-config again');
        return true;
      },
    );
  });

  it('a stateDir under a file is a problem', async () => {
    const s = stage('valid-minimal.yaml');
    staged.push(s);
    fs.appendFileSync(s.file, 'stateDir: valid-minimal.yaml/state\n');
    const r = await problemsOf(s);
    assert.deepEqual(r.problems, [`<dir>/valid-minimal.yaml: stateDir: expected a directory; found a file on the way to <dir>/valid-minimal.yaml/state`]);
  });
});

// issue 17: reading a PEM or config file took a Buffer of the limit (4 MiB) from malloc; freed, it
// raised glibc's mmap threshold to 4 MiB, after which every buffer below that came from the brk heap.
describe('config: bounded file reads', () => {
  it('read a small file without an ordinary Buffer of the limit, and still refuse one over it', () => {
    const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'o365fb-read-'));
    try {
      const file = path.join(dir, 'a.pem');
      fs.writeFileSync(file, 'x'.repeat(1000));
      const sizes: number[] = [];
      const orig = Buffer.allocUnsafe;
      Buffer.allocUnsafe = (n: number) => (sizes.push(n), orig(n));
      try {
        assert.equal(readBoundedFileSync(file, 4 * 1024 * 1024), 'x'.repeat(1000));
      } finally {
        Buffer.allocUnsafe = orig;
      }
      assert.ok(sizes.every((n) => n < 64 * 1024), `sizes ${sizes}`);
      assert.throws(() => readBoundedFileSync(file, 999), (e: Error & { code?: string }) => /over the 999-byte limit/.test(e.code ?? ''));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
