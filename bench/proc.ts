/**
 * Child processes for the bench: a request/response channel over Node's IPC, and the process
 * figures the scenarios report (CPU seconds, peak RSS). Each measured party (bridge, floor) runs in a
 * process of its own so its RSS and CPU are its own; the emulator and receiver share a third.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PerformanceObserver, constants as perfConstants, type PerformanceEntry } from 'node:perf_hooks';

interface Request {
  id: number;
  cmd: string;
  args?: unknown;
}

type Response = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** An event a child sends on its own (progress marks, samples). */
export interface ChildEvent {
  event: string;
  [k: string]: unknown;
}

export class Child {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly exited: Promise<number | null>;
  readonly stderr: string[] = [];

  private constructor(
    readonly proc: ChildProcess,
    private readonly name: string,
    onEvent?: (e: ChildEvent) => void,
  ) {
    proc.on('message', (m: Response | ChildEvent) => {
      if ('event' in m) {
        onEvent?.(m);
        return;
      }
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(`${this.name}: ${m.error}`));
    });
    // Keep the last lines of the child's stderr for the report when something fails.
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (s: string) => {
      this.stderr.push(s);
      if (this.stderr.length > 50) this.stderr.shift();
      if (process.env.BENCH_VERBOSE) process.stderr.write(`[${name}] ${s}`);
    });
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code) => {
        for (const p of this.pending.values()) p.reject(new Error(`${this.name} exited (code ${code}) ${this.stderr.join('').slice(-2000)}`));
        this.pending.clear();
        resolve(code);
      });
    });
  }

  /** Starts `script` (a sibling .js file of this module) with IPC. */
  static start(script: string, name: string, opts: { execArgv?: string[]; onEvent?: (e: ChildEvent) => void; env?: NodeJS.ProcessEnv } = {}): Child {
    const file = path.join(__dirname, script);
    const proc = fork(file, [], {
      execArgv: opts.execArgv ?? [],
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      env: { ...process.env, ...opts.env },
    });
    return new Child(proc, name, opts.onEvent);
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  call<T>(cmd: string, args?: unknown): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ id, cmd, args } satisfies Request);
    });
  }

  /** Asks the child to leave, waits for it (kills it after `graceMs`). */
  async stop(graceMs = 10_000): Promise<number | null> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return this.proc.exitCode;
    if (this.proc.connected) this.proc.send({ id: 0, cmd: 'exit' } satisfies Request);
    const t = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(t);
    return code;
  }
}

/**
 * Child side: serves commands until 'exit'. Handlers may be async; errors go back as messages.
 * On 'exit' the channel closes and the process ends once its handles are gone (so --cpu-prof
 * profiles are written), or after a short grace.
 */
export function serve(handlers: Record<string, (args: any) => unknown>, onExit?: () => Promise<void>): void { // eslint-disable-line @typescript-eslint/no-explicit-any
  process.on('message', async (m: Request) => {
    if (m.cmd === 'exit') {
      await onExit?.().catch(() => undefined);
      process.disconnect?.();
      setTimeout(() => process.exit(0), 3000).unref();
      return;
    }
    const h = handlers[m.cmd];
    try {
      if (!h) throw new Error(`unknown command ${m.cmd}`);
      const result = await h(m.args);
      process.send?.({ id: m.id, ok: true, result } satisfies Response);
    } catch (e) {
      process.send?.({ id: m.id, ok: false, error: (e as Error)?.stack ?? String(e) } satisfies Response);
    }
  });
  process.on('disconnect', () => setTimeout(() => process.exit(0), 3000).unref());
}

export function emit(e: ChildEvent): void {
  process.send?.(e);
}

/** CPU seconds (user + system) since `from` (a process.cpuUsage() value). */
export function cpuSeconds(from?: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(from);
  return (u.user + u.system) / 1e6;
}

/**
 * CPU seconds of the main thread and of all others together (utime + stime from /proc/self/task, in
 * clock ticks of 1/100 s on Linux): for a look inside (BENCH_THREADS=1), not a figure.
 */
export function threadCpu(): { main: number; other: number } {
  const out = { main: 0, other: 0 };
  try {
    for (const t of fs.readdirSync('/proc/self/task')) {
      const st = fs.readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      // Fields after the command name, which may hold spaces: utime and stime are the 12th and 13th.
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      out[t === String(process.pid) ? 'main' : 'other'] += (Number(f[11]) + Number(f[12])) / 100;
    }
  } catch {
    // not Linux
  }
  return out;
}

/** Peak resident set of this process in MiB (VmHWM; resourceUsage().maxRSS where /proc is missing). */
export function peakRssMiB(): number {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

export function rssMiB(): number {
  return process.memoryUsage.rss() / (1024 * 1024);
}

/**
 * Runs `fn` under the V8 CPU profiler (the one `node --cpu-prof` uses) when `file` is set, and writes
 * the .cpuprofile there: only the measured work, not start-up and schema compilation.
 */
export async function profiled<T>(file: string | undefined, fn: () => Promise<T>): Promise<T> {
  if (!file) return fn();
  const { Session } = await import('node:inspector');
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<any>((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res)))); // eslint-disable-line @typescript-eslint/no-explicit-any
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 500 });
  await post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await post('Profiler.stop');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  }
}

/** Garbage collections during a measured stretch: the events `node --trace-gc` prints, counted by kind. */
export interface GcCounts {
  /** Scavenges (young generation). */
  minor: number;
  /** Mark-compacts (full collections). */
  major: number;
  /** Incremental marking rounds (each ends in one of the mark-compacts). */
  incremental: number;
  /** Total pause time of all of them. */
  pauseMs: number;
}

/**
 * Counts GCs from now until `stop()`, from perf_hooks 'gc' entries (one per collection, the same
 * events as --trace-gc, without parsing V8's text output or piping the child's stdout).
 */
export function gcCounter(): { stop(): Promise<GcCounts> } {
  const c: GcCounts = { minor: 0, major: 0, incremental: 0, pauseMs: 0 };
  const { NODE_PERFORMANCE_GC_MINOR, NODE_PERFORMANCE_GC_MAJOR, NODE_PERFORMANCE_GC_INCREMENTAL } = perfConstants;
  const take = (list: PerformanceEntry[]) => {
    for (const e of list) {
      const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind === NODE_PERFORMANCE_GC_MINOR) c.minor++;
      else if (kind === NODE_PERFORMANCE_GC_MAJOR) c.major++;
      else if (kind === NODE_PERFORMANCE_GC_INCREMENTAL) c.incremental++;
      c.pauseMs += e.duration;
    }
  };
  const obs = new PerformanceObserver((list) => take(list.getEntries()));
  obs.observe({ entryTypes: ['gc'] });
  return {
    async stop() {
      // Entries reach the observer from a task after each GC: let the last ones arrive (checked
      // against --trace-gc's own count: the same scavenges and mark-compacts).
      await new Promise((resolve) => setImmediate(resolve));
      take(obs.takeRecords());
      obs.disconnect();
      return { ...c, pauseMs: Math.round(c.pauseMs) };
    },
  };
}
