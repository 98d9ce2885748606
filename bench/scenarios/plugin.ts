/**
 * Scenario 7: the two ways into Fluentd, side by side on the same backlog. The forward path is the
 * bridge as its own process delivering to in_forward. The plugin path is the o365_bridge input running
 * the bridge as its child over stdio. Both feed the same Fluentd (the real one from ../shared/receivers,
 * 1.16.11) with the same output (`null`, so the figures measure the path, not an output). Records/s,
 * CPU of the bridge and CPU of Fluentd, per path. Skipped, with the reason, where the receivers are absent.
 *
 * CPU of Fluentd and of the plugin's child come from /proc/<fluentd pid>/stat: utime+stime for
 * Fluentd, cutime+cstime (the children it reaped) for the bridge. So the plugin's bridge figure
 * includes Node's start-up of the child, which the forward figure (a pass timed inside the bridge)
 * does not.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FluentdRun, receiversPresent } from '../../test/plugin/fluentd';
import { counts, bridgeOverrides, fmt, fmtInt, pick, ratesFor, runBridge, startServices, type BenchContext, type Scenario, type ScenarioResult } from '../harness';
import { CLI } from '../../test/plugin/rig';

const TICK = 100; // USER_HZ: /proc times are in clock ticks of 1/100 s on Linux

function procTimes(pid: number): { self: number; children: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14-17 of stat(5), counted from 1 with pid and comm as 1 and 2: here from index 0 = field 3.
  return { self: (Number(f[11]) + Number(f[12])) / TICK, children: (Number(f[13]) + Number(f[14])) / TICK };
}

async function until(pred: () => boolean, timeoutMs: number, what: string, fd?: FluentdRun): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (fd && !fd.running) throw new Error(`fluentd exited while waiting for ${what}: ${fd.log.slice(-1500)}`);
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const plugin: Scenario = {
  name: 'plugin',
  title: '7. Into Fluentd: the plugin (stdio) against forward',
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const why = receiversPresent();
    if (why) {
      ctx.log(`  skipped: ${why}`);
      return { name: 'plugin', ran: 'skipped', rows: [], notes: [`skipped: ${why}`] };
    }
    const total = pick(ctx.tier, { quick: 20_000, default: 200_000, full: 1_000_000 });
    const hours = 12;
    const { child: services, info } = await startServices({
      emulator: { seed: 'bench-plugin', profile: 'clean', historyHours: hours, recordsPerHour: ratesFor(total, hours), recordsPerBlob: 1000 },
      receiver: { mode: 'ack' },
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'o365fb-bench-plugin-'));
    const runs: FluentdRun[] = [];
    try {
      const port = 25000 + Math.floor(Math.random() * 1000);
      const startFluentd = async (name: string, source: string): Promise<FluentdRun> => {
        const conf = path.join(dir, `${name}.conf`);
        fs.writeFileSync(conf, `${source}\n<match **>\n  @type null\n</match>\n`);
        const fd = new FluentdRun(conf, '1.16.11', { BENCH_CLIENT_SECRET: info.tenants[0].clientSecret });
        runs.push(fd);
        return fd;
      };

      // Forward: the bridge as its own process (the bench's bridge child), into in_forward.
      const fdF = await startFluentd('forward', `<source>\n  @type forward\n  bind 127.0.0.1\n  port ${port}\n</source>`);
      await until(() => /fluentd worker is now running|listening port/.test(fdF.log), 60_000, 'in_forward up', fdF);
      const f0 = procTimes(fdF.child.pid!);
      const fw = await runBridge(ctx, { services: info, overrides: { ...bridgeOverrides(info, { initialLookbackHours: hours + 1, blobConcurrency: 4 }), sink: { type: 'forward', host: '127.0.0.1', port, ackTimeoutSeconds: 60 } } }, 'plugin-forward');
      const f1 = procTimes(fdF.child.pid!);
      await fdF.stop();
      const fwRate = fw.acked / fw.wallSeconds;
      const fwFluentd = f1.self - f0.self;
      ctx.log(`  forward: ${fmtInt(fw.acked)} events in ${fmt(fw.wallSeconds, 1)} s = ${fmtInt(fwRate)} records/s; bridge CPU ${fmt(fw.cpuSeconds, 1)} s, Fluentd CPU ${fmt(fwFluentd, 1)} s`);

      // Plugin: Fluentd runs the bridge (poll.once: one pass, then it exits 0 and is not restarted).
      const cfgFile = path.join(dir, 'bridge.json');
      fs.writeFileSync(path.join(dir, 'ca.pem'), info.ca ?? '');
      const t = info.tenants[0];
      fs.writeFileSync(
        cfgFile,
        JSON.stringify({
          tenants: [{ id: t.tenantId, clientId: t.clientId, cloud: 'custom', authorityUrl: info.url, apiUrl: info.url, clientSecret: { env: 'BENCH_CLIENT_SECRET' } }],
          http: { caFile: 'ca.pem', requestsPerMinute: 100000 },
          poll: { once: true, initialLookbackHours: hours + 1, blobConcurrency: 4 },
          stateDir: 'state-plugin',
          log: { level: 'info' },
        }),
      );
      const fdP = await startFluentd(
        'plugin',
        `<source>\n  @type o365_bridge\n  config_path ${cfgFile}\n  command ${process.execPath} ${CLI}\n  check_config false\n</source>`,
      );
      await until(() => /o365-fluent-bridge started pid=/.test(fdP.log), 60_000, 'plugin child started', fdP);
      const p0 = procTimes(fdP.child.pid!);
      const started = Date.now();
      await until(() => /o365-fluent-bridge finished/.test(fdP.log) || /o365-fluent-bridge exited/.test(fdP.log), 1_800_000, 'plugin pass done', fdP);
      const wall = (Date.now() - started) / 1000;
      const p1 = procTimes(fdP.child.pid!);
      const events = [...fdP.log.matchAll(/o365-fluent-bridge: pass done .*?events=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
      await fdP.stop();
      const plRate = events / wall;
      const plBridge = p1.children - p0.children;
      const plFluentd = p1.self - p0.self;
      ctx.log(`  plugin:  ${fmtInt(events)} events in ${fmt(wall, 1)} s = ${fmtInt(plRate)} records/s; bridge CPU ${fmt(plBridge, 1)} s (with its start-up), Fluentd CPU ${fmt(plFluentd, 1)} s`);
      const c = await counts(services);
      const per100k = (cpu: number, n: number) => fmt((cpu / n) * 1e5);
      return {
        name: 'plugin',
        ran: `${fmtInt(total)}-record backlog over ${hours} h, 5 content types, one Fluentd 1.16.11 with a null output; emulator served ${fmtInt(c.emulator.served.records)} records`,
        rows: [
          { scenario: '7 forward', metric: 'records/s', value: fmtInt(fwRate) },
          { scenario: '7 forward', metric: 'bridge CPU s / 100k', value: per100k(fw.cpuSeconds, fw.acked) },
          { scenario: '7 forward', metric: 'Fluentd CPU s / 100k', value: per100k(fwFluentd, fw.acked) },
          { scenario: '7 plugin', metric: 'records/s', value: fmtInt(plRate), against: 'forward', ratio: fmt(plRate / fwRate) },
          { scenario: '7 plugin', metric: 'bridge CPU s / 100k', value: per100k(plBridge, events), against: 'forward', ratio: fmt(plBridge / events / (fw.cpuSeconds / fw.acked)) },
          { scenario: '7 plugin', metric: 'Fluentd CPU s / 100k', value: per100k(plFluentd, events), against: 'forward', ratio: fmt(plFluentd / events / (fwFluentd / fw.acked)) },
        ],
        notes: events !== fw.acked ? [`the two paths delivered different counts (forward ${fw.acked}, plugin ${events})`] : [],
      };
    } finally {
      for (const r of runs) await r.stop('SIGKILL');
      await services.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
