/**
 * Real Fluentd (../shared/receivers) with the o365_bridge plugin, for the interop suite and the bench:
 * writes a fluent.conf, starts `fluentd --no-supervisor` (one process, so kill -9 of its pid is a real
 * crash), and reads what its file outputs wrote (JSON lines with the tag and the EventTime injected).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI, PLUGIN_DIR, RECEIVERS } from './rig';

export const FLUENTD = path.join(RECEIVERS, 'bin', 'fluentd');
export const FLUENTD_VERSIONS = ['1.16.11', '1.18.0'];

export function receiversPresent(): string | null {
  if (!fs.existsSync(FLUENTD)) return `../shared/receivers is absent (${RECEIVERS}): no real Fluentd to test the plugin against`;
  if (spawnSync('ruby', ['-v']).status !== 0) return 'ruby is not installed (run ../shared/receivers/setup): no real Fluentd to test the plugin against';
  return null;
}

export interface OutLine {
  Id: string;
  tag: string;
  /** EventTime as "<sec>.<nsec, 9 digits>". */
  time: string;
}

/** A file output (file buffer, so what Fluentd acknowledged survives its crash) writing tag and exact time. */
export function fileMatch(pattern: string, dir: string, name: string): string {
  return `
<match ${pattern}>
  @type file
  path ${dir}/${name}/out
  append true
  <format>
    @type json
  </format>
  <inject>
    tag_key fluentd_tag
    time_key fluentd_time
    time_type string
    time_format %s.%N
  </inject>
  <buffer>
    @type file
    path ${dir}/${name}.buffer
    flush_mode interval
    flush_interval 1s
    flush_at_shutdown true
  </buffer>
</match>`;
}

export function pluginSource(o: { configPath?: string; inline?: string; tagPrefix?: string; label?: string; extra?: string }): string {
  return `
<source>
  @type o365_bridge
  ${o.label ? `@label ${o.label}` : ''}
  tag_prefix ${o.tagPrefix ?? 'o365'}
  command ${process.execPath} ${CLI}
  restart_backoff_min 1
  restart_backoff_max 8
  ${o.configPath ? `config_path ${o.configPath}` : ''}
  ${o.inline ?? ''}
  ${o.extra ?? ''}
</source>`;
}

export class FluentdRun {
  readonly child: ChildProcess;
  log = '';
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  readonly exited: Promise<void>;

  constructor(readonly confFile: string, version: string, env: NodeJS.ProcessEnv = {}) {
    const e: NodeJS.ProcessEnv = { ...process.env, FLUENTD_VERSION: version, ...env };
    delete e.NODE_OPTIONS;
    this.child = spawn(FLUENTD, ['-c', confFile, '--no-supervisor', '-p', path.join(PLUGIN_DIR, 'lib/fluent/plugin')], { env: e, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.exited = new Promise((r) => this.child.on('close', (code, signal) => ((this.exit = { code, signal }), r())));
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  count(re: RegExp): number {
    return (this.log.match(new RegExp(re.source, 'g')) ?? []).length;
  }

  /** Pids of the bridge children this Fluentd started, in order. */
  childPids(): number[] {
    return [...this.log.matchAll(/o365-fluent-bridge started pid=(\d+)/g)].map((m) => Number(m[1]));
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.running) this.child.kill(signal);
    await this.exited;
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every JSON line every file output under `dir/name` wrote so far. */
export function readOutput(dir: string, name: string): OutLine[] {
  const d = path.join(dir, name);
  if (!fs.existsSync(d)) return [];
  const out: OutLine[] = [];
  for (const f of fs.readdirSync(d)) {
    // Only whole lines: Fluentd may be writing the last one while a wait polls the file (a clean-clone
    // CI run failed on a half-written line with "Unexpected end of JSON input").
    const lines = fs.readFileSync(path.join(d, f), 'utf8').split('\n');
    lines.pop();
    for (const line of lines) {
      if (!line) continue;
      const r = JSON.parse(line) as { Id: string; fluentd_tag: string; fluentd_time: string };
      out.push({ Id: r.Id, tag: r.fluentd_tag, time: r.fluentd_time });
    }
  }
  return out;
}
