/**
 * The o365_bridge plugin in real Fluentd (1.16.11 and 1.18.0 from ../shared/receivers), the project's
 * emulator as the API, file outputs with file buffers. `npm run test:plugin` (not part of `npm test`:
 * it needs the receivers and Ruby; it skips, saying why, where they are absent).
 * Also runs the plugin's Ruby unit tests (Fluent::Test::Driver::Input) against each vendored Fluentd,
 * and checks that `gem build` works offline.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLI, PLUGIN_DIR, RECEIVERS, RIG_SECRET, Rig, waitUntil } from './rig';
import { FluentdRun, alive, fileMatch, pluginSource, readOutput, receiversPresent } from './fluentd';

const why = receiversPresent();

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code) => resolve({ code, stderr }));
  });
}

function missingFrom(expected: Set<string>, got: Iterable<{ Id: string }>): string[] {
  const have = new Set<string>();
  for (const g of got) have.add(g.Id);
  return [...expected].filter((id) => !have.has(id));
}

/**
 * The suite for some Fluentd versions. One entry file per version, so that `npm run test:plugin`
 * runs them in parallel; `withGem` adds the offline gem build, which needs no Fluentd.
 */
export function pluginSuite(versions: readonly string[], withGem: boolean): void {
  describe(`Fluentd input plugin o365_bridge against real Fluentd ${versions.join(', ')}`, function () {
    this.timeout(600_000);
    before(function () {
      if (why) {
        process.stdout.write(`    skipped: ${why}\n`);
        this.skip();
      }
    });

    if (withGem) describe('the gem', () => {
      it('gem build works offline (no network, fixed file list)', () => {
        const out = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-gem-'));
        try {
          const r = spawnSync('gem', ['build', path.join(PLUGIN_DIR, 'fluent-plugin-o365-bridge.gemspec'), '--output', path.join(out, 'p.gem')], {
            cwd: PLUGIN_DIR,
            encoding: 'utf8',
            // An unroutable proxy: any attempt to reach the network would fail the build.
            env: { ...process.env, http_proxy: 'http://127.0.0.1:9', https_proxy: 'http://127.0.0.1:9', HOME: out },
          });
          assert.equal(r.status, 0, r.stderr + r.stdout);
          const files = execFileSync('sh', ['-c', `tar -xOf ${path.join(out, 'p.gem')} data.tar.gz | tar -tz`], { encoding: 'utf8' }).trim().split('\n').sort();
          assert.deepEqual(files, ['README.md', 'fluent-plugin-o365-bridge.gemspec', 'lib/fluent/plugin/in_o365_bridge.rb', 'lib/fluent/plugin/o365_bridge/params.json', 'test/fake_bridge.rb', 'test/test_in_o365_bridge.rb'].sort());
        } finally {
          fs.rmSync(out, { recursive: true, force: true });
        }
      });
    });

    for (const version of versions) {
      describe(`Fluentd ${version}`, () => {
        let rig: Rig | undefined;
        const runs: FluentdRun[] = [];
        afterEach(async () => {
          for (const r of runs.splice(0)) {
            await r.stop('SIGKILL');
            for (const pid of r.childPids()) if (alive(pid)) process.kill(pid, 'SIGKILL');
          }
          await rig?.close();
          rig = undefined;
        });

        function start(conf: string, env: NodeJS.ProcessEnv = { RIG_CLIENT_SECRET: RIG_SECRET }): FluentdRun {
          const file = path.join(rig!.dir, 'fluent.conf');
          fs.writeFileSync(file, conf);
          const r = new FluentdRun(file, version, env);
          runs.push(r);
          return r;
        }

        it("the plugin's unit tests pass with this Fluentd's test driver", () => {
          const V = path.join(RECEIVERS, 'vendor');
          const r = spawnSync('ruby', ['-Ilib', `-I${V}/fluentd-${version}/lib`, `-I${V}/serverengine-2.3.2/lib`, 'test/test_in_o365_bridge.rb'], { cwd: PLUGIN_DIR, encoding: 'utf8', timeout: 300_000 });
          assert.equal(r.status, 0, (r.stdout + r.stderr).slice(-4000));
          assert.match(r.stdout, /\d+ tests, \d+ assertions, 0 failures, 0 errors/);
        });

        it('every record once; tags and EventTime identical to the forward path into the same Fluentd', async () => {
          rig = await Rig.start(`plugin-${version}-clean`, { recordsPerHour: 200 });
          const fwdRig = JSON.parse(JSON.stringify(rig.config)) as Record<string, unknown>;
          const port = 24000 + Math.floor(Math.random() * 1000);
          // The forward path: the same tenant, its own state, into an in_forward of the same Fluentd.
          Object.assign(fwdRig, { stateDir: 'state-fwd', sink: { type: 'forward', host: '127.0.0.1', port, ackTimeoutSeconds: 10 }, poll: { ...(rig.config.poll as object), once: true } });
          fs.writeFileSync(path.join(rig.dir, 'fwd.json'), JSON.stringify(fwdRig));
          const fd = start(`
  ${pluginSource({ configPath: rig.configFile, label: '@PLUG' })}
  <source>
    @type forward
    @label @FWD
    bind 127.0.0.1
    port ${port}
  </source>
  <label @PLUG>${fileMatch("o365.**", rig.dir, "plug")}
  </label>
  <label @FWD>${fileMatch("o365.**", rig.dir, "fwd")}
  </label>
  `);
          await waitUntil(() => rig!.caughtUp() || !fd.running, 120_000, 'plugin caught up');
          assert.ok(fd.running, fd.log.slice(-3000));
          // Not spawnSync: the emulator lives in this process and must keep answering.
          const fwd = await runCli(['run', '--config', path.join(rig.dir, 'fwd.json')], { RIG_CLIENT_SECRET: RIG_SECRET });
          assert.equal(fwd.code, 0, fwd.stderr.slice(-2000));
          const expected = rig.expectedIds();
          assert.ok(expected.size > 500, `source offered ${expected.size}`);
          await waitUntil(() => missingFrom(expected, readOutput(rig!.dir, 'plug')).length === 0 && missingFrom(expected, readOutput(rig!.dir, 'fwd')).length === 0, 60_000, 'both outputs flushed');
          const plug = readOutput(rig.dir, 'plug');
          const fw = readOutput(rig.dir, 'fwd');
          assert.equal(plug.length, new Set(plug.map((l) => l.Id)).size, 'every record once through the plugin');
          const key = (l: { Id: string; tag: string; time: string }) => `${l.Id} ${l.tag} ${l.time}`;
          const fwKeys = new Set(fw.map(key));
          assert.deepEqual(plug.map(key).filter((k) => !fwKeys.has(k)).slice(0, 5), [], 'same tag and EventTime as forward');
          assert.ok(plug.every((l) => l.tag.startsWith('o365.') && /^\d{10}\.\d{9}$/.test(l.time)), 'tags and nanosecond EventTime');
          assert.ok(plug.some((l) => !l.time.endsWith('000000000')) || plug.some((l) => l.time.length === 20));
          // The child's JSON log lines are in Fluentd's log at their level.
          assert.match(fd.log, /\[info\]: #0 o365-fluent-bridge: started|\[info\]: o365-fluent-bridge: started/);
          assert.doesNotMatch(fd.log, new RegExp(RIG_SECRET));
          await fd.stop();
          assert.match(fd.log, /stopping o365-fluent-bridge/);
          assert.ok(fd.childPids().every((p) => !alive(p)), 'no child left after a clean stop');
        });

        it('kill -9 of Fluentd mid-run: the child stops by itself (no orphan); after a restart 0 missing', async () => {
          rig = await Rig.start(`plugin-${version}-kill-fluentd`, { recordsPerHour: 2500, historyHours: 3 });
          const conf = `${pluginSource({ configPath: rig.configFile })}${fileMatch('o365.**', rig.dir, 'out')}`;
          const fd1 = start(conf);
          await waitUntil(() => readOutput(rig!.dir, 'out').length > 0 || fs.existsSync(path.join(rig!.dir, 'out.buffer')) && fs.readdirSync(path.join(rig!.dir, 'out.buffer')).length > 0, 120_000, 'first events buffered');
          assert.equal(rig.caughtUp(), false, 'killed mid-run (increase the volume if this fails)');
          const [pid] = fd1.childPids();
          await fd1.stop('SIGKILL');
          await waitUntil(() => !alive(pid), 60_000, `bridge child ${pid} to exit after its parent died`);
          const fd2 = start(conf);
          await waitUntil(() => rig!.caughtUp() || !fd2.running, 300_000, 'caught up after restart');
          const expected = rig.expectedIds();
          await waitUntil(() => missingFrom(expected, readOutput(rig!.dir, 'out')).length === 0 || !fd2.running, 60_000, 'output flushed');
          assert.deepEqual(missingFrom(expected, readOutput(rig.dir, 'out')).slice(0, 10), [], fd2.log.slice(-2000));
          const lines = readOutput(rig.dir, 'out');
          process.stdout.write(`      ${expected.size} records, ${lines.length - new Set(lines.map((l) => l.Id)).size} duplicates after the crash\n`);
        });

        it('kill -9 of the child: logged, restarted with backoff, 0 missing', async () => {
          rig = await Rig.start(`plugin-${version}-kill-child`, { recordsPerHour: 2500, historyHours: 3 });
          const fd = start(`${pluginSource({ configPath: rig.configFile })}${fileMatch('o365.**', rig.dir, 'out')}`);
          await waitUntil(() => fd.childPids().length > 0 && readOutput(rig!.dir, 'out').length + (fs.existsSync(path.join(rig!.dir, 'out.buffer')) ? fs.readdirSync(path.join(rig!.dir, 'out.buffer')).length : 0) > 0, 120_000, 'first events');
          assert.equal(rig.caughtUp(), false, 'killed mid-run');
          process.kill(fd.childPids()[0], 'SIGKILL');
          await waitUntil(() => fd.childPids().length >= 2, 60_000, 'a new child');
          assert.match(fd.log, /o365-fluent-bridge exited \(killed by signal 9\); restarting in 1s/);
          await waitUntil(() => rig!.caughtUp(), 300_000, 'caught up');
          const expected = rig.expectedIds();
          await waitUntil(() => missingFrom(expected, readOutput(rig!.dir, 'out')).length === 0, 60_000, 'output flushed');
          assert.equal(fd.childPids().length, 2, 'restarted once');
        });

        it('a wrong secret: a clear AUTH_FAILED error in Fluentd\'s log, the child keeps its pace (no crash loop)', async () => {
          rig = await Rig.start(`plugin-${version}-bad-secret`);
          const fd = start(`${pluginSource({ configPath: rig.configFile })}${fileMatch('o365.**', rig.dir, 'out')}`, { RIG_CLIENT_SECRET: 'the-wrong-secret-value' });
          await waitUntil(() => /o365-fluent-bridge: .*AUTH_FAILED/.test(fd.log) || !fd.running, 120_000, 'the auth error in the log');
          assert.match(fd.log, /\[error\]: (#0 )?o365-fluent-bridge: tenant pass failed.*AUTH_FAILED/);
          // The next pass (poll.intervalSeconds later) fails the same way, from the same child.
          await waitUntil(() => fd.count(/tenant pass failed.*AUTH_FAILED/) >= 2 || !fd.running, 120_000, 'a second failed pass');
          assert.equal(fd.childPids().length, 1, 'the bridge reports and waits for its next pass: not restarted');
          process.stdout.write(`      ${/\[error\]: (#0 )?o365-fluent-bridge: tenant pass failed.*/.exec(fd.log)![0].slice(0, 400)}\n`);
          assert.doesNotMatch(fd.log, /the-wrong-secret-value/);
        });

        it('a child that cannot run its config exits and is restarted no faster than the doubling backoff', async () => {
          rig = await Rig.start(`plugin-${version}-exit-loop`);
          // check_config off, so the problem reaches the running child (an unset secret variable: exit 2).
          const fd = start(`${pluginSource({ configPath: rig.configFile, extra: 'check_config false' })}${fileMatch('o365.**', rig.dir, 'out')}`, { RIG_CLIENT_SECRET: '' });
          await waitUntil(() => fd.count(/restarting in/) >= 3 || !fd.running, 120_000, 'three restarts');
          const waits = [...fd.log.matchAll(/exited \(exit code 2\); restarting in (\d+(?:\.\d+)?)s/g)].map((m) => Number(m[1]));
          assert.deepEqual(waits.slice(0, 3), [1, 2, 4]);
          assert.match(fd.log, /o365-fluent-bridge: .*RIG_CLIENT_SECRET is empty/);
        });

        it('with check_config, a bad config is a Fluentd config error (--dry-run catches it)', () => {
          const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-dry-'));
          try {
            const conf = path.join(dir, 'fluent.conf');
            fs.writeFileSync(conf, `${pluginSource({ inline: `state_dir ${dir}/state\n<tenant>\nid 11111111-2222-3333-4444-555555555555\nclient_id not-a-guid\nclient_secret abcdefghij\n</tenant>` })}\n<match **>\n@type null\n</match>\n`);
            const r = spawnSync(path.join(RECEIVERS, 'bin', 'fluentd'), ['--dry-run', '-c', conf, '-p', path.join(PLUGIN_DIR, 'lib/fluent/plugin')], { env: { ...process.env, FLUENTD_VERSION: version }, encoding: 'utf8' });
            assert.notEqual(r.status, 0);
            assert.match(r.stdout + r.stderr, /the bridge refused its config.*tenants\[0\]\.clientId: expected a GUID/);
            assert.doesNotMatch(r.stdout + r.stderr, /abcdefghij/);
          } finally {
            fs.rmSync(dir, { recursive: true, force: true });
          }
        });

        it('fluent.conf.example passes --dry-run (the bridge checking its inline config too)', () => {
          const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-ex-'));
          try {
            const example = fs.readFileSync(path.resolve(PLUGIN_DIR, '..', 'fluent.conf.example'), 'utf8');
            const conf = path.join(dir, 'fluent.conf');
            // Only what this machine lacks: the bridge on PATH and /var/lib.
            fs.writeFileSync(conf, example.replace('  # command /usr/bin/o365-fluent-bridge', `  command ${process.execPath} ${CLI}\n  #`).replace('/var/lib/fluentd/o365', `${dir}/state`));
            const r = spawnSync(path.join(RECEIVERS, 'bin', 'fluentd'), ['--dry-run', '-c', conf, '-p', path.join(PLUGIN_DIR, 'lib/fluent/plugin')], { env: { ...process.env, FLUENTD_VERSION: version, CONTOSO_CLIENT_SECRET: 'example-secret-value' }, encoding: 'utf8' });
            assert.equal(r.status, 0, (r.stdout + r.stderr).slice(-3000));
            assert.match(r.stdout, /finished dry run mode/);
            assert.doesNotMatch(r.stdout + r.stderr, /example-secret-value/);
          } finally {
            fs.rmSync(dir, { recursive: true, force: true });
          }
        });

        it('multi-worker: refused outside <worker N>, accepted in <worker 0>', () => {
          const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'o365-mw-'));
          try {
            const src = pluginSource({ inline: `state_dir ${dir}/state\n<tenant>\nid 11111111-2222-3333-4444-555555555555\nclient_id 11111111-2222-3333-4444-555555555556\nclient_secret abcdefghij\n</tenant>`, extra: 'check_config false' });
            const dry = (body: string) => {
              const conf = path.join(dir, 'fluent.conf');
              fs.writeFileSync(conf, `<system>\nworkers 2\n</system>\n${body}\n<match **>\n@type null\n</match>\n`);
              return spawnSync(path.join(RECEIVERS, 'bin', 'fluentd'), ['--dry-run', '-c', conf, '-p', path.join(PLUGIN_DIR, 'lib/fluent/plugin')], { env: { ...process.env, FLUENTD_VERSION: version }, encoding: 'utf8' });
            };
            const bad = dry(src);
            assert.notEqual(bad.status, 0);
            assert.match(bad.stdout + bad.stderr, /does not support multi workers/);
            const good = dry(`<worker 0>${src}\n</worker>`);
            assert.equal(good.status, 0, good.stdout + good.stderr);
          } finally {
            fs.rmSync(dir, { recursive: true, force: true });
          }
        });
      });
    }
  });
}
