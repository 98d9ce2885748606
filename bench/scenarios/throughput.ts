/**
 * Scenarios 1 and 2, on the same data in the same run: the bridge end to end (emulator backlog →
 * bridge → forward receiver with acks), then the floor (fetch, JSON.parse, msgpack, write; nothing
 * else) over the same blobs. The ratio bridge/floor says what validation, routing, dedup, batching and
 * checkpoints cost. Target ≥ 0.7.
 */
import { Child } from '../proc';
import type { FloorRunArgs, FloorRunResult } from '../floor-child';
import type { BlobListing } from '../services';
import { MEASURED_NODE_FLAGS, bridgeOverrides, profileFile, counts, fmt, fmtInt, mib, pick, ratesFor, runBridge, startServices, type BenchContext, type Scenario, type ScenarioResult } from '../harness';

const HOUR = 3_600_000;

export const throughput: Scenario = {
  name: 'throughput',
  title: '1. End-to-end throughput + 2. the floor',
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const total = pick(ctx.tier, { quick: 100_000, default: 1_000_000, full: 1_000_000 });
    const hours = 24;
    const recordsPerBlob = 1000;
    const blobConcurrency = 4;
    const { child: services, info } = await startServices({
      emulator: { seed: 'bench-throughput', profile: 'realistic', historyHours: hours, recordsPerHour: ratesFor(total, hours), recordsPerBlob },
      receiver: { mode: 'ack' },
    });
    try {
      const lookbackHours = hours + 1;
      // Bridge.
      const c0 = await counts(services);
      const b = await runBridge(
        ctx,
        { services: info, overrides: bridgeOverrides(info, { initialLookbackHours: lookbackHours, blobConcurrency }) },
        'throughput',
      );
      const c1 = await counts(services);
      const bridgeRate = b.acked / b.wallSeconds;
      const servicesShareBridge = (c1.cpuSeconds - c0.cpuSeconds) / b.wallSeconds;
      ctx.log(
        `  bridge: ${fmtInt(b.acked)} events acked (${fmtInt(b.records)} records read, ${fmtInt(b.duplicates)} duplicates dropped) in ${fmt(b.wallSeconds, 1)} s` +
          ` = ${fmtInt(bridgeRate)} records/s; CPU ${fmt(b.cpuSeconds, 1)} s = ${fmt((b.cpuSeconds / b.acked) * 1e5)} CPU s per 100k records; peak RSS ${mib(b.peakRssMiB)}`,
      );
      ctx.log(`          emulator+receiver process used ${fmt(servicesShareBridge * 100, 0)}% of one core meanwhile${b.errors.length ? `; errors: ${b.errors.join('; ')}` : ''}`);

      // Floor, on the blobs the bridge listed (same window, as of the same clock).
      const now = Date.now();
      const blobs = await services.call<BlobListing[]>('blobs', { t0: now - lookbackHours * HOUR, t1: now, asOf: now });
      const floor = Child.start('floor-child.js', 'floor', { execArgv: MEASURED_NODE_FLAGS });
      let f: FloorRunResult;
      try {
        f = await floor.call<FloorRunResult>('run', {
          services: info,
          blobs,
          concurrency: blobConcurrency,
          maxPacketBytes: 4 * 1024 * 1024,
          maxInFlight: 4,
          profileFile: profileFile(ctx, 'floor'),
        } satisfies FloorRunArgs);
      } finally {
        await floor.stop();
      }
      const c2 = await counts(services);
      const floorRate = f.acked / f.wallSeconds;
      const servicesShareFloor = (c2.cpuSeconds - c1.cpuSeconds) / f.wallSeconds;
      ctx.log(
        `  floor:  ${fmtInt(f.acked)} events acked from ${fmtInt(f.blobs)} blobs in ${fmt(f.wallSeconds, 1)} s = ${fmtInt(floorRate)} records/s;` +
          ` CPU ${fmt(f.cpuSeconds, 1)} s = ${fmt((f.cpuSeconds / f.acked) * 1e5)} CPU s per 100k; peak RSS ${mib(f.peakRssMiB)}`,
      );
      ctx.log(`          emulator+receiver process used ${fmt(servicesShareFloor * 100, 0)}% of one core meanwhile`);
      const ratio = bridgeRate / floorRate;
      // CPU per record is what contention on a shared machine disturbs least: the ratio the rates
      // would show if both had a core to themselves and were CPU-bound.
      const cpuRatio = f.cpuSeconds / f.acked / (b.cpuSeconds / b.acked);
      ctx.log(`  bridge/floor = ${fmt(ratio)} by records/s (target >= 0.7); ${fmt(cpuRatio)} by CPU per record (floor CPU/record ÷ bridge CPU/record)`);
      return {
        name: 'throughput',
        ran: `${fmtInt(total)}-record backlog over ${hours} h, 5 content types (realistic profile), ${recordsPerBlob} records/blob, blobConcurrency ${blobConcurrency}`,
        rows: [
          { scenario: '1 e2e', metric: 'records/s', value: fmtInt(bridgeRate) },
          { scenario: '1 e2e', metric: 'CPU s / 100k records', value: fmt((b.cpuSeconds / b.acked) * 1e5) },
          { scenario: '1 e2e', metric: 'peak RSS (bridge)', value: mib(b.peakRssMiB) },
          { scenario: '2 floor', metric: 'records/s', value: fmtInt(floorRate) },
          { scenario: '2 floor', metric: 'bridge/floor (records/s)', value: fmt(ratio), against: 'target >= 0.7', ratio: fmt(ratio) },
          { scenario: '2 floor', metric: 'bridge/floor (CPU/record)', value: fmt(cpuRatio), against: 'target >= 0.7', ratio: fmt(cpuRatio) },
        ],
        notes: servicesShareBridge > 0.9 || servicesShareFloor > 0.9 ? ['the emulator+receiver process was near one full core: figures are bounded by it'] : [],
      };
    } finally {
      await services.stop();
    }
  },
};
