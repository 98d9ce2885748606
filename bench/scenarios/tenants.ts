/**
 * Scenario 5: 50 tenants with modest volume in one bridge process (default concurrency settings,
 * Node's default flags): records/s, peak RSS (target ≤ 160 MiB), and fairness: the slowest tenant's
 * lag (pass start → its last window done) against the median tenant's (target ≤ 1.3).
 */
import { DEFAULT_NODE_FLAGS, bridgeOverrides, counts, flagsText, fmt, fmtInt, gcText, median, mib, pick, ratesFor, runBridge, startServices, type BenchContext, type Scenario, type ScenarioResult } from '../harness';

const RSS_TARGET_MIB = 160;
const FAIRNESS_TARGET = 1.3;

export const manyTenants: Scenario = {
  name: 'tenants',
  title: '5. Many tenants (50)',
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const tenants = 50;
    const perTenant = pick(ctx.tier, { quick: 300, default: 3_000, full: 10_000 });
    const hours = 6;
    const tenantConcurrency = 4; // the config default
    const { child: services, info } = await startServices({
      emulator: { seed: 'bench-tenants', profile: 'realistic', tenants, historyHours: hours, recordsPerHour: ratesFor(perTenant, hours), recordsPerBlob: 100 },
      receiver: { mode: 'ack' },
    });
    try {
      const c0 = await counts(services);
      const b = await runBridge(ctx, { services: info, overrides: bridgeOverrides(info, { initialLookbackHours: hours + 1, tenantConcurrency }) }, 'tenants', DEFAULT_NODE_FLAGS);
      const c1 = await counts(services);
      const lags = b.tenantDoneSeconds;
      const med = median(lags);
      const max = Math.max(...lags);
      const fairness = max / med;
      const rate = b.acked / b.wallSeconds;
      ctx.log(`  ${fmtInt(b.acked)} records from ${lags.length} tenants in ${fmt(b.wallSeconds, 1)} s = ${fmtInt(rate)} records/s; peak RSS ${mib(b.peakRssMiB)} (${flagsText(DEFAULT_NODE_FLAGS)}); CPU ${fmt(b.cpuSeconds, 1)} s`);
      ctx.log(`  RSS before the pass (code, schemas, 50 tenants' clients): ${mib(b.initRssMiB)}; ${gcText(b.gc, b.acked)}`);
      ctx.log(`  tenant lag (pass start → last window done): min ${fmt(Math.min(...lags), 1)} s, median ${fmt(med, 1)} s, max ${fmt(max, 1)} s; slowest/median = ${fmt(fairness)} (target <= ${FAIRNESS_TARGET})`);
      ctx.log(`  (tenantConcurrency ${tenantConcurrency}: ${tenantConcurrency} tenants are served at a time)`);
      ctx.log(`  emulator+receiver process: ${fmt(((c1.cpuSeconds - c0.cpuSeconds) / b.wallSeconds) * 100, 0)}% of one core${b.errors.length ? `; errors: ${b.errors.join('; ')}` : ''}`);
      return {
        name: 'tenants',
        ran: `${tenants} tenants × ${fmtInt(perTenant)} records over ${hours} h (realistic profile, 100 records/blob), tenantConcurrency ${tenantConcurrency}, ${flagsText(DEFAULT_NODE_FLAGS)}`,
        rows: [
          { scenario: '5 tenants', metric: 'records/s', value: fmtInt(rate) },
          { scenario: '5 tenants', metric: 'peak RSS (bridge, default flags)', value: mib(b.peakRssMiB), against: `target <= ${RSS_TARGET_MIB} MiB`, ratio: fmt(b.peakRssMiB / RSS_TARGET_MIB) },
          { scenario: '5 tenants', metric: 'slowest/median tenant lag', value: fmt(fairness), against: `median ${fmt(med, 1)} s; target <= ${FAIRNESS_TARGET}`, ratio: fmt(fairness) },
        ],
      };
    } finally {
      await services.stop();
    }
  },
};
