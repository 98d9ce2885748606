/**
 * Scenario 3: peak RSS of the bridge while it catches up a 7-day backlog with a receiver that acks
 * slowly. Target: under 256 MB, and flat as the backlog grows: RSS is noted when 1M records (or the
 * tier's first mark) were acknowledged and again at the end.
 */
import { bridgeOverrides, counts, fmt, fmtInt, mib, pick, ratesFor, runBridge, startServices, type BenchContext, type Scenario, type ScenarioResult } from '../harness';

export const memory: Scenario = {
  name: 'memory',
  title: '3. Memory under backlog (7 days, slow acks)',
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const total = pick(ctx.tier, { quick: 150_000, default: 1_500_000, full: 5_000_000 });
    const firstMark = pick(ctx.tier, { quick: 100_000, default: 1_000_000, full: 1_000_000 });
    const step = pick(ctx.tier, { quick: 50_000, default: 500_000, full: 1_000_000 });
    const hours = 167; // a week of hour slots, inside the API's 7-day limit
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
      const b = await runBridge(ctx, { services: info, overrides: bridgeOverrides(info, { initialLookbackHours: 168 }), marks, sampleMs: 100 }, 'memory');
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
          ` peak RSS ${mib(b.peakRssMiB)} (VmHWM), sampled during the pass ${mib(endRss)}`,
      );
      const growth = first ? endRss / first.peakRssMiB : NaN;
      ctx.log(`  peak at the end / peak at ${fmtInt(first?.mark ?? 0)} records = ${fmt(growth)} (flat = 1.00); target peak < 256 MB = 244 MiB`);
      ctx.log(`  emulator+receiver process: ${fmt(((c1.cpuSeconds - c0.cpuSeconds) / b.wallSeconds) * 100, 0)}% of one core${b.errors.length ? `; errors: ${b.errors.join('; ')}` : ''}`);
      const limitMiB = 256e6 / 2 ** 20;
      return {
        name: 'memory',
        ran: `${fmtInt(total)}-record backlog over ${hours} h (realistic profile, ${recordsPerBlob} records/blob), receiver acks after ${ackDelayMs} ms${ctx.tier === 'default' ? ' (scaled down to fit 5 minutes: --full runs 5M)' : ''}`,
        rows: [
          { scenario: '3 memory', metric: 'peak RSS (bridge)', value: mib(b.peakRssMiB), against: 'target < 256 MB (244 MiB)', ratio: fmt(b.peakRssMiB / limitMiB) },
          { scenario: '3 memory', metric: `RSS peak at ${fmtInt(first?.mark ?? 0)}`, value: first ? mib(first.peakRssMiB) : 'n/a' },
          { scenario: '3 memory', metric: `RSS peak at ${fmtInt(b.acked)}`, value: mib(endRss), against: `peak at ${fmtInt(first?.mark ?? 0)}`, ratio: fmt(growth) },
          { scenario: '3 memory', metric: 'records/s (slow acks)', value: fmtInt(b.acked / b.wallSeconds) },
        ],
      };
    } finally {
      await services.stop();
    }
  },
};
