/**
 * Every shipped Fluentd / Fluent Bit config is accepted by the real programs: fluent.conf.forward.example
 * (and any other `fluent*.example`) with both Fluentd versions and the real Elasticsearch and Splunk
 * HEC plugins, again with its commented <security>, <user> and <transport tls> blocks switched on
 * (test certificates), and every config snippet of README.md and docs/.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packageRoot } from '../../src/paths';
import { makeTestCert } from '../support/receiver-tls';
import { classify, enableBlock, enableLine, exampleFiles, fencedBlocks, shippedExamples, type Example } from './support/examples';
import { FLUENT_BIT, FLUENTD, FLUENTD_VERSIONS, RealReceiver, receiversMissing, requireReceivers } from './support/receivers';

/** Values the example reads from the environment ("#{ENV['…']}"): any non-empty value will do. */
const EXAMPLE_ENV = {
  FLUENT_SHARED_KEY: 'interop-shared-key',
  FLUENT_BRIDGE_PASSWORD: 'interop-password',
  ES_USER: 'elastic',
  ES_PASSWORD: 'es-password',
  SPLUNK_HEC_TOKEN: '00000000-0000-0000-0000-000000000000',
  FLUENT_TLS_KEY_PASSPHRASE: 'interop-key-passphrase',
  CONTOSO_CLIENT_SECRET: 'interop-client-secret',
};

/**
 * A plugin-mode example runs `o365-fluent-bridge` from PATH (its check_config asks the bridge to check
 * the inline config): a shim to this checkout's CLI, as an installed package would provide.
 */
function bridgeOnPath(dir: string): string {
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  const shim = path.join(bin, 'o365-fluent-bridge');
  fs.writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${path.join(packageRoot, 'dist', 'src', 'cli.js')}" "$@"\n`, { mode: 0o755 });
  return `${bin}${path.delimiter}${process.env.PATH ?? ''}`;
}

/** The project's own Fluentd plugin (fluent-plugin/), when there is one: a plugin-mode example needs it loaded. */
function pluginDirs(): string[] {
  const dir = path.join(packageRoot, 'fluent-plugin', 'lib', 'fluent', 'plugin');
  return fs.existsSync(dir) ? ['-p', dir] : [];
}

function dryRun(ex: Pick<Example, 'kind' | 'format' | 'text'>, dir: string, version?: string): { ok: boolean; out: string } {
  const file = path.join(dir, ex.kind === 'fluentd' ? 'fluent.conf' : ex.format === 'yaml' ? 'fluent-bit.yaml' : 'fluent-bit.conf');
  fs.writeFileSync(file, ex.text);
  const r =
    ex.kind === 'fluentd'
      ? spawnSync(FLUENTD, ['--dry-run', '-c', file, ...pluginDirs()], { env: { ...process.env, ...EXAMPLE_ENV, FLUENTD_VERSION: version, PATH: bridgeOnPath(dir) }, encoding: 'utf8', timeout: 60_000 })
      : spawnSync(FLUENT_BIT, ['--dry-run', '-c', file], { env: { ...process.env, ...EXAMPLE_ENV }, encoding: 'utf8', timeout: 60_000 });
  const out = ((r.stdout ?? '') + (r.stderr ?? '')).replace(/\x1b\[[0-9;]*m/g, '');
  // Fluent Bit's dry run exits 0 even on an unknown plugin: its words are the verdict.
  const ok =
    ex.kind === 'fluentd'
      ? r.status === 0 && /finished dry run mode/.test(out) && !/\[(error|warn)\]/.test(out)
      : r.status === 0 && /configuration test is successful/.test(out) && !/\[\s*(error|warn)\]/.test(out);
  return { ok, out };
}

describe('interop: the shipped examples start in the real receivers', function () {
  this.timeout(120_000);

  describe('the extractor (no receivers needed)', () => {
    it('finds fluent.conf.forward.example and picks up any fluent*.example in the root and fluent-plugin/', () => {
      const names = exampleFiles().map((f) => path.basename(f));
      assert.ok(names.includes('fluent.conf.forward.example'), names.join(', '));
      for (const f of exampleFiles()) assert.match(path.basename(f), /^fluent.*\.example$/);
    });

    it('tells Fluentd, Fluent Bit classic and Fluent Bit YAML configs from other code blocks', () => {
      assert.deepEqual(classify('<source>\n  @type forward\n</source>\n'), { kind: 'fluentd', format: 'conf' });
      assert.deepEqual(classify('[INPUT]\n    name forward\n'), { kind: 'fluent-bit', format: 'conf' });
      assert.deepEqual(classify('pipeline:\n  inputs:\n    - name: forward\n'), { kind: 'fluent-bit', format: 'yaml' });
      assert.deepEqual(classify('<parse>\n  @type json\n</parse>\n', 'fluentd'), { kind: 'fluentd', format: 'conf' });
      assert.equal(classify('npm ci && npm test\n'), null);
      assert.equal(classify('tenants:\n  - id: x\n'), null);
      const md = 'text\n\n```\n<match o365.**>\n  @type stdout\n</match>\n```\n\n~~~fluent-bit\n[OUTPUT]\n    name stdout\n~~~\n';
      assert.deepEqual(fencedBlocks(md).map((b) => [b.info, b.line]), [['', 4], ['fluent-bit', 10]]);
    });

    it('switches on commented blocks the way a user would', () => {
      const text = '<source>\n  # <security>\n  #   shared_key x\n  #   # user_auth true\n  # </security>\n</source>\n';
      const on = enableLine(enableBlock(text, 'security'), 'user_auth true');
      assert.equal(on, '<source>\n  <security>\n    shared_key x\n    user_auth true\n  </security>\n</source>\n');
    });
  });

  describe('with the real programs', () => {
    let dir: string;
    before(function () {
      requireReceivers(this);
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'o365fb-interop-examples-'));
    });
    after(() => {
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    // Listed at load time, so each example is a test of its own (and a new one shows up by name).
    const examples = receiversMissing() === null ? shippedExamples() : [];

    it('finds at least the example and the Fluentd snippet of docs/operations.md', function () {
      const where = examples.map((e) => e.where);
      assert.ok(where.includes('fluent.conf.forward.example'), where.join(', '));
      assert.ok(where.some((w) => w.startsWith('docs/operations.md:')), where.join(', '));
    });

    for (const ex of examples) {
      const versions = ex.kind === 'fluentd' ? FLUENTD_VERSIONS : ['4.2.8'];
      for (const v of versions) {
        it(`${ex.where}: accepted by ${ex.kind === 'fluentd' ? 'Fluentd' : 'Fluent Bit'} ${v} (--dry-run)`, () => {
          const r = dryRun(ex, dir, ex.kind === 'fluentd' ? v : undefined);
          assert.ok(r.ok, `${ex.where} refused by ${ex.kind} ${v}:\n${r.out.split('\n').filter((l) => /\[\s*(error|warn)\]|error=/.test(l)).join('\n') || r.out.slice(-2000)}`);
        });
      }
    }

    // Fluent Bit's dry run does not check property names: start each Fluent Bit snippet for real too.
    for (const ex of examples.filter((e) => e.kind === 'fluent-bit' && e.format === 'conf')) {
      it(`${ex.where}: starts in Fluent Bit 4.2.8 (unknown properties refused)`, async () => {
        const text = ex.text
          .replace(/^(\s*port\s+)\d+\s*$/gm, '$1{{PORT}}')
          .replace(/^(\s*listen\s+)\S+\s*$/gm, '$1127.0.0.1')
          .replace(/^(\s*storage\.path\s+)\S+\s*$/gm, '$1{{DIR}}/storage');
        const saved = { ...process.env };
        Object.assign(process.env, EXAMPLE_ENV);
        let rr: RealReceiver | undefined;
        try {
          rr = await RealReceiver.start({ kind: 'fluent-bit', config: text });
          assert.doesNotMatch(rr.log, /\[\s*(error|warn)\]/, rr.log.slice(-2000));
        } finally {
          process.env = saved;
          await rr?.close();
        }
      });
    }

    for (const v of FLUENTD_VERSIONS) {
      it(`fluent.conf.forward.example with <security>, <user> and <transport tls> switched on: accepted by Fluentd ${v}`, () => {
        const cert = makeTestCert('fluentd.example.test');
        fs.writeFileSync(path.join(dir, 'server.crt'), cert.cert);
        // Encrypted at rest, as the example recommends.
        const key = createPrivateKey(cert.key).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: EXAMPLE_ENV.FLUENT_TLS_KEY_PASSPHRASE });
        fs.writeFileSync(path.join(dir, 'server.key'), key);
        let text = fs.readFileSync(path.join(packageRoot, 'fluent.conf.forward.example'), 'utf8');
        text = enableBlock(text, 'security');
        text = enableLine(text, 'user_auth true');
        text = enableBlock(text, 'user');
        text = enableBlock(text, 'transport tls');
        assert.match(text, /^\s+<user>$/m);
        assert.match(text, /^\s+user_auth true$/m);
        text = text.replace('/etc/fluent/tls/server.crt', path.join(dir, 'server.crt')).replace('/etc/fluent/tls/server.key', path.join(dir, 'server.key'));
        const r = dryRun({ kind: 'fluentd', format: 'conf', text }, dir, v);
        assert.ok(r.ok, r.out.slice(-3000));
        // The dry run printed the config it checked: the blocks really were on.
        for (const s of ['<security>', 'user_auth true', '<user>', '<transport tls>', 'private_key_passphrase']) assert.ok(r.out.includes(s), `dry run did not see ${s}`);
      });
    }
  });
});
