/**
 * Scenario 4: the API is the limit. The emulator answers every request after 150 ms and enforces the
 * per-tenant budget (2,000 requests/minute, AF429 beyond). Figures: records/s, requests per 1,000
 * records, throttled answers (target 0), and the achieved rate against the bound:
 *   bound (requests/s) = min(budget / 60, blobConcurrency / latency); records bound = that × records per blob.
 * Only blob requests carry records, so listings and subscription calls count against the ratio.
 */
import { bridgeOverrides, counts, fmt, fmtInt, pick, ratesFor, runBridge, startServices, type BenchContext, type Scenario, type ScenarioResult } from '../harness';

export const apiBound: Scenario = {
  name: 'api',
  title: '4. API-bound (150 ms latency, 2,000 requests/min budget)',
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const latencyMs = 150;
    const budgetPerMin = 2000;
    const recordsPerBlob = 100;
    // The config default: 4 / 150 ms = 26.7 blob requests/s, under the 2,000/min budget (33.3/s) and the
    // client's own 1,800/min, so latency binds and the budget must hold without a single 429.
    const blobConcurrency = 4;
    const bridgeLimitPerMin = 1800; // the config default (10% under the budget)
    // Sized for about 8 s / 40 s / 120 s at the bound.
    const total = pick(ctx.tier, { quick: 12_000, default: 100_000, full: 300_000 });
    const hours = 12;
    const { child: services, info } = await startServices({
      emulator: { seed: 'bench-api', profile: 'clean', historyHours: hours, recordsPerHour: ratesFor(total, hours), recordsPerBlob, latencyMs, requestsPerMinute: budgetPerMin },
      receiver: { mode: 'ack' },
    });
    try {
      const c0 = await counts(services);
      const b = await runBridge(
        ctx,
        {
          services: info,
          overrides: bridgeOverrides(info, { initialLookbackHours: hours + 1, blobConcurrency }),
          http: { requestsPerMinute: bridgeLimitPerMin },
        },
        'api',
      );
      const c1 = await counts(services);
      const routes = c1.emulator.byRoute;
      const before = c0.emulator.byRoute;
      const delta = (k: string) => (routes[k] ?? 0) - (before[k] ?? 0);
      const apiRequests = Object.keys(routes).filter((k) => k.startsWith('api:')).reduce((s, k) => s + delta(k), 0);
      const blobRequests = delta('api:blob');
      const throttled = c1.emulator.throttled - c0.emulator.throttled;
      const rate = b.acked / b.wallSeconds;
      const perBlob = b.acked / Math.max(1, blobRequests);
      const boundReq = Math.min(budgetPerMin / 60, blobConcurrency / (latencyMs / 1000));
      const boundRecords = boundReq * perBlob;
      const ratio = rate / boundRecords;
      const reqPer1000 = (apiRequests / b.acked) * 1000;
      ctx.log(`  ${fmtInt(b.acked)} records in ${fmt(b.wallSeconds, 1)} s = ${fmtInt(rate)} records/s; ${fmtInt(apiRequests)} API requests (${fmtInt(blobRequests)} blobs, ${fmtInt(delta('api:content'))} listing pages) = ${fmt(reqPer1000, 1)} per 1,000 records (blobs alone: ${fmt((blobRequests / b.acked) * 1000, 1)})`);
      ctx.log(`  429/AF429 answers: ${throttled} (bridge saw ${b.throttled}); retries ${b.retries}${b.errors.length ? `; errors: ${b.errors.join('; ')}` : ''}`);
      ctx.log(
        `  bound: min(${budgetPerMin}/60 = ${fmt(budgetPerMin / 60, 1)}, ${blobConcurrency} blobs / ${latencyMs} ms = ${fmt(blobConcurrency / (latencyMs / 1000), 1)}) = ${fmt(boundReq, 1)} requests/s` +
          ` × ${fmt(perBlob, 1)} records/blob = ${fmtInt(boundRecords)} records/s; achieved/bound = ${fmt(ratio)}` +
          ` (the bridge's own limit, ${bridgeLimitPerMin}/min, allows ${fmt(bridgeLimitPerMin / budgetPerMin)} of it)`,
      );
      return {
        name: 'api',
        ran: `${fmtInt(total)} records over ${hours} h, ${recordsPerBlob} records/blob, ${latencyMs} ms per request, budget ${budgetPerMin}/min, blobConcurrency ${blobConcurrency}, client limit ${bridgeLimitPerMin}/min`,
        rows: [
          { scenario: '4 api-bound', metric: 'records/s', value: fmtInt(rate) },
          { scenario: '4 api-bound', metric: 'requests / 1,000 records', value: fmt(reqPer1000, 1), against: `${fmt(1000 / recordsPerBlob, 0)} = blobs alone` },
          { scenario: '4 api-bound', metric: '429s received', value: String(throttled), against: 'target 0' },
          { scenario: '4 api-bound', metric: 'achieved / bound', value: fmt(ratio), against: `bound ${fmtInt(boundRecords)} records/s`, ratio: fmt(ratio) },
        ],
      };
    } finally {
      await services.stop();
    }
  },
};
