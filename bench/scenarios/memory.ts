/**
 * Scenario 3: peak RSS of the bridge while it catches up a 7-day backlog with a receiver that acks
 * slowly, with default settings and Node's default flags (no --max-semi-space-size: what a user who
 * sets no NODE_OPTIONS gets). Target (issue 17): peak ≤ 128 MiB, and flat (≤ 1.05 ×) as the backlog
 * grows: RSS is noted when 1M records (or the tier's first mark) were acknowledged and again at the end
 * (--full: 1M → 5M).
 */
import { DEFAULT_NODE_FLAGS, bridgeOverrides, counts, flagsText, fmt, fmtInt, gcText, mib, pick, ratesFor, runBridge, startServices, type BenchContext, type Scenario, type ScenarioResult } from '../harness';

export const MEMORY_TARGET_MIB = 128;

export const memory: Scenario = {
  name: 'memory',
  title: '3. Memory under backlog (7 days, slow acks)',
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const total = pick(ctx.tier, { quick: 60_000, default: 1_500_000, full: 5_000_000 });
    const firstMark = pick(ctx.tier, { quick: 30_000, default: 1_000_000, full: 1_000_000 });
    const step = pick(ctx.tier, { quick: 15_000, default: 500_000, full: 1_000_000 });
    // A week of hour slots, inside the API's 7-day limit (--quick: a day, so it stays short).
    const hours = ctx.tier === 'quick' ? 24 : 167;
    const recordsPerBlob = 2000;
    const ackDelayMs = 100;
    const { child: services, info } = await startServices({
      emulator: { seed: 'bench-memory', profile: 'realistic', historyHours: hours, recordsPerHour: ratesFor(total, hours), recordsPerBlob },
      receiver: { mode: 'slow-ack', ackDelayMs },
    });
    try {
      const marks: number[] = [];
      for (let m = firstMark; m < total; m += step) marks.push(m);
      const c0 = await counts(services);
      const b = await runBridge(ctx, { services: info, overrides: bridgeOverrides(info, { initialLookbackHours: hours + 1 }), marks, sampleMs: Number(process.env.BENCH_SAMPLE_MS ?? 100) }, 'memory', DEFAULT_NODE_FLAGS);
      const c1 = await counts(services);
      const first = b.atMarks[0];
      const endRss = b.sampledPeakMiB;
      for (const m of b.atMarks) {
        ctx.log(
          `  at ${fmtInt(m.records).padStart(10)} records (${fmt(m.seconds, 0)} s): RSS ${mib(m.rssMiB)}, peak so far ${mib(m.peakRssMiB)};` +
            ` JS heap ${mib(m.heapUsedMiB)} used of ${mib(m.heapTotalMiB)}, buffers ${mib(m.externalMiB)}`,
        );
      }
      ctx.log(
        `  end: ${fmtInt(b.acked)} events acked in ${fmt(b.wallSeconds, 0)} s (${fmtInt(b.acked / b.wallSeconds)} records/s with acks after ${ackDelayMs} ms);` +
          ` peak RSS ${mib(b.peakRssMiB)} (VmHWM), sampled during the pass ${mib(endRss)}; ${flagsText(DEFAULT_NODE_FLAGS)}`,
      );
      ctx.log(`  RSS before the pass (code, schemas, clients): ${mib(b.initRssMiB)}; ${gcText(b.gc, b.acked)}`);
      const growth = first ? endRss / first.peakRssMiB : NaN;
      ctx.log(`  peak at the end / peak at ${fmtInt(first?.mark ?? 0)} records = ${fmt(growth)} (flat = 1.00, target <= 1.05); target peak <= ${MEMORY_TARGET_MIB} MiB`);
      ctx.log(`  emulator+receiver process: ${fmt(((c1.cpuSeconds - c0.cpuSeconds) / b.wallSeconds) * 100, 0)}% of one core${b.errors.length ? `; errors: ${b.errors.join('; ')}` : ''}`);
      return {
        name: 'memory',
        ran: `${fmtInt(total)}-record backlog over ${hours} h (realistic profile, ${recordsPerBlob} records/blob), receiver acks after ${ackDelayMs} ms, ${flagsText(DEFAULT_NODE_FLAGS)}${ctx.tier === 'default' ? ' (scaled down to fit 5 minutes: --full runs 5M)' : ''}`,
        rows: [
          { scenario: '3 memory', metric: 'peak RSS (bridge, default flags)', value: mib(b.peakRssMiB), against: `target <= ${MEMORY_TARGET_MIB} MiB`, ratio: fmt(b.peakRssMiB / MEMORY_TARGET_MIB) },
          { scenario: '3 memory', metric: 'RSS before the pass', value: mib(b.initRssMiB), against: 'code, schemas, clients' },
          { scenario: '3 memory', metric: `RSS peak at ${fmtInt(first?.mark ?? 0)}`, value: first ? mib(first.peakRssMiB) : 'n/a' },
          { scenario: '3 memory', metric: `RSS peak at ${fmtInt(b.acked)}`, value: mib(endRss), against: `peak at ${fmtInt(first?.mark ?? 0)}; target <= 1.05`, ratio: fmt(growth) },
          { scenario: '3 memory', metric: 'records/s (slow acks)', value: fmtInt(b.acked / b.wallSeconds) },
        ],
      };
    } finally {
      await services.stop();
    }
  },
};
