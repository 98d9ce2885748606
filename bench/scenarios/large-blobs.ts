/**
 * Scenario 7: blob size. The same volume of Exchange records served as ~1 MB blobs, then as ~50 MB
 * blobs (the largest Microsoft serves are tens of MB), each in a fresh bridge with default settings
 * and Node's default flags. The blob reader streams, so peak RSS should not depend on the blob size:
 * target ≤ 1.05 × (Elastic Agent's input holds about 12 × the largest blob; Filebeat holds whole blobs).
 */
import { DEFAULT_NODE_FLAGS, bridgeOverrides, counts, flagsText, fmt, fmtInt, gcText, mib, onlyRates, pick, runBridge, startServices, type BenchContext, type Scenario, type ScenarioResult } from '../harness';

const FLAT_TARGET = 1.05;
/** Exchange records of the clean profile average about 1.6 KB of JSON. */
const RECORDS_PER_MB = 650;
const HOURS = 2;

/** `perHour` records an hour in blobs of `recordsPerBlob` (the current hour adds what is listable so far). */
async function one(ctx: BenchContext, label: string, recordsPerBlob: number, perHour: number) {
  const hours = HOURS;
  const { child: services, info } = await startServices({
    emulator: { seed: 'bench-large', profile: 'clean', historyHours: hours, recordsPerHour: onlyRates({ 'Audit.Exchange': perHour }), recordsPerBlob },
    receiver: { mode: 'ack' },
  });
  try {
    const c0 = await counts(services);
    const b = await runBridge(
      ctx,
      { services: info, overrides: bridgeOverrides(info, { initialLookbackHours: hours + 1 }), tenantOverrides: { contentTypes: ['Audit.Exchange'] }, sampleMs: 50, marks: [Math.round(perHour / 2), perHour] },
      label,
      DEFAULT_NODE_FLAGS,
    );
    const c1 = await counts(services);
    const served = { blobs: c1.emulator.served.blobs - c0.emulator.served.blobs, bytes: c1.emulator.served.bytes - c0.emulator.served.bytes };
    const mbPerBlob = served.bytes / Math.max(1, served.blobs) / 2 ** 20;
    ctx.log(
      `  [${label}] ${fmtInt(b.acked)} events from ${served.blobs} blobs of ${fmt(mbPerBlob, 1)} MiB on average in ${fmt(b.wallSeconds, 1)} s;` +
        ` peak RSS ${mib(b.peakRssMiB)} (sampled ${mib(b.sampledPeakMiB)})${b.errors.length ? `; errors: ${b.errors.join('; ')}` : ''}`,
    );
    for (const m of b.atMarks) ctx.log(`          at ${fmtInt(m.records)} records: RSS ${mib(m.rssMiB)}; JS heap ${mib(m.heapUsedMiB)} used of ${mib(m.heapTotalMiB)}, buffers ${mib(m.externalMiB)}`);
    ctx.log(`          RSS before the pass ${mib(b.initRssMiB)}; ${gcText(b.gc, b.acked)}`);
    return { b, mbPerBlob };
  } finally {
    await services.stop();
  }
}

export const largeBlobs: Scenario = {
  name: 'large-blobs',
  title: '7. Blob size: 1 MB vs 50 MB blobs (--quick: 10 MB), same volume',
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const bigMB = pick(ctx.tier, { quick: 10, default: 50, full: 50 });
    const bigPerBlob = bigMB * RECORDS_PER_MB;
    const perHour = pick(ctx.tier, { quick: bigPerBlob, default: bigPerBlob, full: 2 * bigPerBlob });
    const small = await one(ctx, 'blobs-1mb', RECORDS_PER_MB, perHour);
    const big = await one(ctx, `blobs-${bigMB}mb`, bigPerBlob, perHour);
    const ratio = big.b.peakRssMiB / small.b.peakRssMiB;
    ctx.log(`  peak RSS with ${fmt(big.mbPerBlob, 0)} MiB blobs / with ${fmt(small.mbPerBlob, 1)} MiB blobs = ${fmt(ratio)} (flat = 1.00, target <= ${FLAT_TARGET})`);
    return {
      name: 'large-blobs',
      ran: `${fmtInt(perHour)} Audit.Exchange records an hour over ${HOURS} h and the current one, as ~1 MB blobs, then as ~${bigMB} MB blobs; default settings, ${flagsText(DEFAULT_NODE_FLAGS)}`,
      rows: [
        { scenario: '7 large blobs', metric: `peak RSS, ${fmt(small.mbPerBlob, 1)} MiB blobs`, value: mib(small.b.peakRssMiB) },
        { scenario: '7 large blobs', metric: `peak RSS, ${fmt(big.mbPerBlob, 0)} MiB blobs`, value: mib(big.b.peakRssMiB), against: `1 MB blobs; target <= ${FLAT_TARGET}`, ratio: fmt(ratio) },
      ],
    };
  },
};
