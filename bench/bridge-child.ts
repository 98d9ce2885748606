/**
 * Bench child: one bridge, built the way `run` builds it (the real Config loader, prom-client
 * metrics, the forward sink), making one pass (`poll.once`) against the bench's emulator and
 * receiver. Reports wall and CPU time of the pass, peak RSS (VmHWM), RSS at record marks, and per
 * tenant when its last window finished (for fairness).
 */
import * as path from 'node:path';
import { createLogger } from '../src/obs/log';
import { createMetrics, type Metrics } from '../src/obs/metrics';
import { Bridge } from '../src/bridge';
import { makeConfig, tempDir } from '../test/support/bridge-config';
import { sinkModule } from '../src/sinks';
import { CheckpointStore } from '../src/state/checkpoint';
import { META_KEY } from '../src/shape/event';
import { tuneHeap } from '../src/obs/heap';
import { boundYoungGeneration } from '../src/obs/young-gen';
import type { EncodedBatch, OutEvent, Sink } from '../src/contracts';
import type { Config } from '../src/config/types';
import { threadCpu, cpuSeconds, gcCounter, peakRssMiB, profiled, rssMiB, serve, type GcCounts } from './proc';
import type { ServicesInfo } from './services';

export interface BridgeRunArgs {
  services: ServicesInfo;
  overrides: Record<string, unknown>;
  tenantOverrides?: Record<string, unknown>;
  /** Keys of `http` besides the emulator's CA file (which the child writes). */
  http?: Record<string, unknown>;
  /** Record counts (acknowledged events) at which to note RSS. */
  marks?: number[];
  sampleMs?: number;
  /** Write a CPU profile of the pass here. */
  profileFile?: string;
  /**
   * Steady state: run as a service (`poll.once` false, the config's interval between passes) until
   * this many passes finished, then stop as a SIGTERM would. Without it the child makes one pass.
   */
  passes?: number;
  /** Note when each blob's last event was acknowledged (for the latency scenario). */
  ackTimes?: boolean;
  /**
   * Start as a bridge that has been running: every (tenant, content type) has a checkpoint at now, so
   * the first pass has no backlog (with trailingWindowMinutes 0, nothing before now is listed).
   */
  seedCursor?: boolean;
}

export interface BridgeRunResult {
  /** Events the receiver acknowledged. */
  acked: number;
  records: number;
  duplicates: number;
  invalid: number;
  lostBlobs: number;
  failedBlobs: number;
  errors: string[];
  wallSeconds: number;
  cpuSeconds: number;
  peakRssMiB: number;
  /** RSS when the acknowledged count first reached each mark. */
  atMarks: Array<{ mark: number; records: number; seconds: number; rssMiB: number; peakRssMiB: number; heapUsedMiB: number; heapTotalMiB: number; externalMiB: number }>;
  /** RSS once the bridge is built and its state dir opened, before the pass: code, schemas, clients. */
  initRssMiB: number;
  /** Largest RSS sampled during the pass (the process peak includes start-up). */
  sampledPeakMiB: number;
  /** Seconds from the pass start to each tenant's last finished window. */
  tenantDoneSeconds: number[];
  apiRequests: number;
  throttled: number;
  retries: number;
  /** GCs during the pass. */
  gc: GcCounts;
  /** [contentId, ms since epoch of the ack of its last event], with `ackTimes`. */
  blobAcks?: Array<[string, number]>;
  /** Start and end (ms since epoch) of each pass, with `passes`. */
  passTimes?: Array<[number, number]>;
}

async function seedCheckpoints(cfg: Config, cursor: string): Promise<void> {
  const store = new CheckpointStore(cfg.stateDir);
  await store.init();
  try {
    for (const t of cfg.tenants) {
      for (const contentType of t.contentTypes) {
        await store.save({ version: 1, tenantId: t.id, contentType, cursor, doneAtCursor: [], recent: [], lost: [], updatedAt: cursor });
      }
    }
  } finally {
    await store.close();
  }
}

/**
 * The sink the bridge would build from `cfg`, wrapped to note per blob (content id, from the metadata
 * the router adds) when the receiver acknowledged its last event. Batches are held encoded, so the
 * content ids are taken at encode time and looked up by batch when its delivery resolves.
 */
function ackTimingSink(cfg: Config, acks: Map<string, number>): Sink {
  const inner = sinkModule(cfg.sink.type).create(cfg.sink, { logger: createLogger({ level: 'error' }) });
  const ids = new WeakMap<EncodedBatch, string[]>();
  return {
    encode(events: OutEvent[]): EncodedBatch {
      const batch = inner.encode(events);
      const list: string[] = [];
      for (const ev of events) {
        const id = (ev.record[lastMetaKey(ev.record)] as { content_id?: unknown } | undefined)?.content_id;
        if (typeof id === 'string') list.push(id);
      }
      ids.set(batch, list);
      return batch;
    },
    async deliver(batch: EncodedBatch): Promise<void> {
      await inner.deliver(batch);
      const t = Date.now();
      for (const id of ids.get(batch) ?? []) acks.set(id, t);
    },
    release: (batch: EncodedBatch) => inner.release(batch),
    close: () => inner.close(),
  };
}

/** The metadata key the router used: the longest `o365_bridge_…` key of the record (see metaKeyFor). */
function lastMetaKey(record: Record<string, unknown>): string {
  let key = META_KEY;
  while (Object.prototype.hasOwnProperty.call(record, key + '_')) key += '_';
  return key;
}

// As `run` does at start (src/commands/run.ts): the bench measures the product as it runs.
tuneHeap();
boundYoungGeneration();
if (process.env.BENCH_V8_FLAGS) require("node:v8").setFlagsFromString(process.env.BENCH_V8_FLAGS); // experiments only

serve({
  async run(a: BridgeRunArgs): Promise<BridgeRunResult> {
    const env = tempDir('o365fb-bench-');
    try {
      const overrides = a.http ? { ...a.overrides, http: { caFile: path.join(env.dir, 'ca.pem'), ...a.http } } : a.overrides;
      const cfg = makeConfig(a.services, a.services.receiverPort, env.dir, overrides, a.tenantOverrides ?? {});
      const base = createMetrics();
      let acked = 0;
      let apiRequests = 0;
      let throttled = 0;
      let retries = 0;
      const metrics: Metrics = {
        ...base,
        eventsAcked(n) {
          acked += n;
          base.eventsAcked(n);
        },
        apiRequest(t, op, s) {
          apiRequests++;
          base.apiRequest(t, op, s);
        },
        throttled(t) {
          throttled++;
          base.throttled(t);
        },
        retry(t, r) {
          retries++;
          base.retry(t, r);
        },
      };
      const t0 = Date.now();
      const tenantDone = new Map<string, number>();
      const progress = {
        setPlan: () => undefined,
        windowDone: (tenant: string) => void tenantDone.set(tenant, (Date.now() - t0) / 1000),
        records: () => undefined,
      };
      if (a.seedCursor) await seedCheckpoints(cfg, new Date().toISOString());
      const acks = new Map<string, number>();
      const bridge = new Bridge(cfg, { logger: createLogger({ level: 'error' }), metrics, progress, sink: a.ackTimes ? ackTimingSink(cfg, acks) : undefined });
      await bridge.init();
      if (process.env.BENCH_GC_AFTER_INIT) {
        // experiment only: a full GC between start-up and the pass
        require('node:v8').setFlagsFromString('--expose-gc');
        (require('node:vm').runInNewContext('gc') as () => void)();
      }
      const initRss = rssMiB();

      const marks = [...(a.marks ?? [])].sort((x, y) => x - y);
      const atMarks: BridgeRunResult['atMarks'] = [];
      let sampledPeak = rssMiB();
      let samples = 0;
      const sample = () => {
        const rss = rssMiB();
        // Every 10th sample; with BENCH_HEAP_SPACES=peaks also each sample that sets a new peak.
        if (process.env.BENCH_HEAP_SPACES && (samples++ % 10 === 0 || (process.env.BENCH_HEAP_SPACES === 'peaks' && rss > sampledPeak))) {
          const m = process.memoryUsage();
          const old = require('node:v8').getHeapSpaceStatistics().find((sp: { space_name: string }) => sp.space_name === 'old_space');
          let brk = 0;
          let anon = 0;
          let file = 0;
          let cur = '';
          for (const line of require('node:fs').readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
            const hdr = /^[0-9a-f]+-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
            if (hdr) cur = hdr[2].startsWith('/') ? 'file' : hdr[2] || 'anon';
            else if (line.startsWith('Rss:')) {
              const kb = parseInt(line.slice(4), 10);
              if (cur === '[heap]') brk += kb;
              else if (cur === 'anon') anon += kb;
              else if (cur === 'file') file += kb;
            }
          }
          process.stderr.write(`t ${((Date.now() - t0) / 1000).toFixed(1)} brk ${(brk / 1024).toFixed(0)} anon ${(anon / 1024).toFixed(0)} file ${(file / 1024).toFixed(0)} acked ${acked} rss ${rss.toFixed(0)} heapTotal ${(m.heapTotal / 1048576).toFixed(0)} old ${(old.space_size / 1048576).toFixed(0)}/${(old.space_used_size / 1048576).toFixed(0)} ext ${(m.external / 1048576).toFixed(0)}\n`);
        }
        if (rss > sampledPeak) sampledPeak = rss;
        while (marks.length > 0 && acked >= marks[0]) {
          const m = process.memoryUsage();
          atMarks.push({
            mark: marks.shift()!,
            records: acked,
            seconds: (Date.now() - t0) / 1000,
            rssMiB: rss,
            peakRssMiB: sampledPeak,
            heapUsedMiB: m.heapUsed / 1048576,
            heapTotalMiB: m.heapTotal / 1048576,
            externalMiB: m.external / 1048576,
          });
          // For a look inside (not a figure): BENCH_HEAP_SNAPSHOT=DIR writes one heap snapshot per mark.
          const snapDir = process.env.BENCH_HEAP_SNAPSHOT;
          if (process.env.BENCH_HEAP_SPACES) {
            // RSS by mapping: [heap] (malloc's brk arena), anonymous (V8 pages, mmapped malloc chunks, other arenas), files.
            const by = new Map<string, number>();
            let cur = '';
            for (const line of require('node:fs').readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
              const hdr = /^[0-9a-f]+-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
              if (hdr) cur = hdr[2].startsWith('/') ? 'file' : hdr[2] || 'anon';
              else if (line.startsWith('Rss:')) by.set(cur, (by.get(cur) ?? 0) + parseInt(line.slice(4), 10));
            }
            process.stderr.write(`alloc stats ${JSON.stringify((globalThis as any).__st)}\n`);
            process.stderr.write(`smaps rss KiB ${JSON.stringify(Object.fromEntries(by))}\n`);
            if (process.env.BENCH_HEAP_SPACES === 'maps') {
              // Every mapping over 512 KiB resident: size, perms, name (arenas are 64 MiB reservations).
              let hdr = '';
              const lines: string[] = [];
              for (const line of require('node:fs').readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
                if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) hdr = line;
                else if (line.startsWith('Rss:') && parseInt(line.slice(4), 10) > 512) {
                  const [range, perms, , , , name] = hdr.split(/\s+/);
                  const [a, b] = range.split('-').map((x) => parseInt(x, 16));
                  lines.push(`${String(parseInt(line.slice(4), 10)).padStart(8)} KiB rss of ${String(((b - a) / 1024) | 0).padStart(8)} KiB ${perms} ${name ?? ''}`);
                }
              }
              require('node:fs').writeFileSync(`/tmp/o365fb-maps-${atMarks.length}.txt`, lines.sort().reverse().join('\n') + '\n');
            }
            for (const sp of require('node:v8').getHeapSpaceStatistics()) process.stderr.write(`heap space ${sp.space_name}: size ${(sp.space_size / 1048576).toFixed(1)} used ${(sp.space_used_size / 1048576).toFixed(1)} MiB\n`);
          }
          if (snapDir) require('node:v8').writeHeapSnapshot(path.join(snapDir, `mark-${atMarks[atMarks.length - 1].mark}.heapsnapshot`));
        }
      };
      const timer = setInterval(sample, a.sampleMs ?? 100);
      const passTimes: Array<[number, number]> = [];
      const gc = gcCounter();
      const cpu0 = process.cpuUsage();
      const start = process.hrtime.bigint();
      let summary: Awaited<ReturnType<Bridge['runOnce']>>;
      try {
        summary = await profiled(a.profileFile, async () => {
          if (a.passes === undefined) return bridge.runOnce();
          // What `run` does until a stop signal, collecting every pass's results.
          const all: typeof summary = { startedAt: new Date().toISOString(), finishedAt: '', results: [], tenantErrors: [] };
          await bridge.run((s) => {
            all.results.push(...s.results);
            all.tenantErrors.push(...s.tenantErrors);
            passTimes.push([Date.parse(s.startedAt), Date.parse(s.finishedAt)]);
            if (passTimes.length >= a.passes!) bridge.stop();
          });
          all.finishedAt = new Date().toISOString();
          return all;
        });
      } finally {
        clearInterval(timer);
        if (process.env.BENCH_HEAP_SPACES) process.stderr.write(`pass done: rss ${rssMiB().toFixed(0)} hwm ${peakRssMiB().toFixed(0)}\n`);
        await bridge.close();
        if (process.env.BENCH_HEAP_SPACES) process.stderr.write(`closed: rss ${rssMiB().toFixed(0)} hwm ${peakRssMiB().toFixed(0)}\n`);
      }
      const gcCounts = await gc.stop();
      const wallSeconds = Number(process.hrtime.bigint() - start) / 1e9;
      const cpu = cpuSeconds(cpu0);
      if (process.env.BENCH_THREADS) process.stderr.write(`threads ${JSON.stringify(threadCpu())}\n`);
      sample();
      const r = summary.results;
      return {
        acked,
        records: r.reduce((s, x) => s + x.records, 0),
        duplicates: r.reduce((s, x) => s + x.duplicates, 0),
        invalid: r.reduce((s, x) => s + x.invalid, 0),
        lostBlobs: r.reduce((s, x) => s + x.lostBlobs, 0),
        failedBlobs: r.reduce((s, x) => s + x.failedBlobs, 0),
        errors: [
          ...summary.tenantErrors.map((e) => `${e.tenantId}: ${e.error.code} ${e.error.message}`),
          ...r.filter((x) => x.error).map((x) => `${x.tenantId}/${x.contentType}: ${x.error!.code} ${x.error!.message}`),
        ].slice(0, 10),
        wallSeconds,
        cpuSeconds: cpu,
        peakRssMiB: peakRssMiB(),
        atMarks,
        sampledPeakMiB: sampledPeak,
        initRssMiB: initRss,
        tenantDoneSeconds: [...tenantDone.values()],
        apiRequests,
        throttled,
        retries,
        gc: gcCounts,
        blobAcks: a.ackTimes ? [...acks] : undefined,
        passTimes: a.passes !== undefined ? passTimes : undefined,
      };
    } finally {
      env.cleanup();
    }
  },
});
