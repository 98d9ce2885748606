/**
 * The API budget of one reconciliation sweep (issue 14): requests per sweep per tenant, as a share
 * of the per-tenant quota, for a tenant with `blobsPerDay` blobs a day in each of the five content
 * types and a full 7-day retention. Also the memory of the delivered-blob record that covers it.
 *
 * Runs the real client and Reconciler against the in-process emulator (HTTP, counted per route).
 * The first sweep finds every blob "late" (the record starts empty) and delivers none of them for
 * real; the second is the steady state: everything delivered, listing only. Counts, not times.
 *
 *   node dist/bench/scenarios/reconcile.js [--blobs-per-day N] [--page-size N] [--days N]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startEmulator } from '../../src/emulator';
import { createHttpStack } from '../../src/net/http';
import { createActivityApi } from '../../src/sources/o365/api/client';
import { Reconciler } from '../../src/sources/o365/reconcile';
import { silentLogger } from '../../src/obs/log';
import type { BenchContext, Scenario, ScenarioResult } from '../harness';

const HOUR = 3_600_000;
const CTS = ['Audit.AzureActiveDirectory', 'Audit.Exchange', 'Audit.SharePoint', 'Audit.General', 'DLP.All'];
/** The documented baseline per-tenant quota. */
const QUOTA_PER_MINUTE = 2000;

export interface ReconcileBenchOptions {
  blobsPerDay: number;
  pageSize: number;
  days: number;
  intervalMinutes: number;
}

export interface ReconcileBenchResult extends ReconcileBenchOptions {
  blobsListed: number;
  firstSweepRequests: number;
  steadySweepRequests: number;
  requestsPerContentType: number;
  /** steady requests / (quota × interval). */
  shareOfQuota: number;
  /** Minutes of the whole per-tenant quota one sweep would use if sent at full speed. */
  quotaMinutes: number;
  recordBytes: number;
  recordFileBytes: number;
}

export async function measure(o: ReconcileBenchOptions): Promise<ReconcileBenchResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'o365fb-bench-reconcile-'));
  const recordsPerBlob = 1;
  const emu = await startEmulator({
    seed: 'bench-reconcile',
    profile: 'clean',
    historyHours: o.days * 24,
    recordsPerBlob,
    recordsPerHour: Object.fromEntries(CTS.map((c) => [c, (o.blobsPerDay * recordsPerBlob) / 24])),
    pageSize: o.pageSize,
    requestsPerMinute: 10_000_000,
    enabledAtStart: CTS,
  });
  const http = createHttpStack({ env: {}, timeoutMs: 60_000 });
  const t = emu.tenants[0];
  let token = '';
  const tokens = {
    async getToken() {
      if (!token) {
        const r = await fetch(`${emu.url}/${t.tenantId}/oauth2/v2.0/token`, {
          method: 'POST',
          body: new URLSearchParams({ grant_type: 'client_credentials', client_id: t.clientId, client_secret: t.clientSecret, scope: emu.scope }),
        });
        token = ((await r.json()) as { access_token: string }).access_token;
      }
      return token;
    },
  };
  const api = createActivityApi({ tenantId: t.tenantId, apiRoot: emu.url, tokens, http, requestsPerMinute: 10_000_000 });
  const stop = new AbortController();
  const now = Date.now();
  const listingRequests = () => emu.stats().byRoute['api:content'] ?? 0;
  let blobsListed = 0;
  let first = 0;
  let steady = 0;
  let recordBytes = 0;
  try {
    for (const ct of CTS) {
      // The record started a week ago (covers the whole retention); the sweep is due.
      let clock = now - o.days * 24 * HOUR;
      const r = new Reconciler({
        stateDir: dir,
        tenantId: t.tenantId,
        contentType: ct,
        intervalMs: o.intervalMinutes * 60_000,
        ageMarginMs: 15 * 60_000,
        concurrency: 4,
        listContent: (s, e) => api.listContent(ct, s, e),
        logger: silentLogger,
        countLate: () => {},
        now: () => clock,
        stop: stop.signal,
      });
      await r.begin({ recent: [] }, clock);
      clock = now;
      const cursor = new Date(now - 10 * 60_000).toISOString();
      const b0 = listingRequests();
      // As the poller's deliver does through the ack tracker: the blob is finished, so it is in the record.
      const deliver = async (ref: { contentId: string; contentCreated: string }) => {
        r.finished(ref);
        return 'done' as const;
      };
      const s1 = await r.maybeSweep(cursor, deliver);
      first += listingRequests() - b0;
      blobsListed += s1?.listed ?? 0;
      clock += o.intervalMinutes * 60_000;
      const b1 = listingRequests();
      const s2 = await r.maybeSweep(cursor, deliver);
      steady += listingRequests() - b1;
      await r.flush(); // the ack tracker's persist({ record: true })
      if (s2?.late !== 0) throw new Error(`steady sweep found ${s2?.late} late blobs`);
    }
    for (const ct of CTS) {
      const { DeliveredBlobs } = await import('../../src/state/delivered-blobs');
      recordBytes += (await DeliveredBlobs.open(dir, t.tenantId, ct)).idBytes;
    }
    const recordFileBytes = fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
    // In the first sweep every blob counted as late would also be one blob GET (none here: deliver is a stub).
    return {
      ...o,
      blobsListed,
      firstSweepRequests: first + blobsListed,
      steadySweepRequests: steady,
      requestsPerContentType: Math.round(steady / CTS.length),
      shareOfQuota: steady / (QUOTA_PER_MINUTE * o.intervalMinutes),
      quotaMinutes: steady / QUOTA_PER_MINUTE,
      recordBytes,
      recordFileBytes,
    };
  } finally {
    http.close();
    await emu.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function rows(r: ReconcileBenchResult): ScenarioResult['rows'] {
  const sc = 'reconcile';
  return [
    { scenario: sc, metric: 'blobs in the retention (tenant, 5 content types)', value: r.blobsListed.toLocaleString('en-US') },
    { scenario: sc, metric: 'requests per steady sweep per tenant', value: r.steadySweepRequests.toLocaleString('en-US'), against: `page size ${r.pageSize}` },
    { scenario: sc, metric: 'share of the per-tenant quota', value: `${(r.shareOfQuota * 100).toFixed(2)} %`, against: `${QUOTA_PER_MINUTE}/min over ${r.intervalMinutes} min` },
    { scenario: sc, metric: 'sweep at full quota speed', value: `${r.quotaMinutes.toFixed(1)} min` },
    { scenario: sc, metric: 'delivered-blob record (memory, ids)', value: `${(r.recordBytes / 1e6).toFixed(2)} MB` },
    { scenario: sc, metric: 'delivered-blob record (disk)', value: `${(r.recordFileBytes / 1e6).toFixed(2)} MB` },
  ];
}

export const reconcile: Scenario = {
  name: 'reconcile',
  title: 'Reconciliation sweep: API budget and record size',
  async run(ctx: BenchContext) {
    const o = { blobsPerDay: ctx.tier === 'quick' ? 2000 : 20_000, pageSize: 100, days: 7, intervalMinutes: 360 };
    const r = await measure(o);
    return { name: 'reconcile', ran: `${o.blobsPerDay.toLocaleString('en-US')} blobs/day × 5 content types × ${o.days} days`, rows: rows(r) };
  },
};

if (require.main === module) {
  const arg = (name: string, d: number) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : d;
  };
  measure({ blobsPerDay: arg('--blobs-per-day', 20_000), pageSize: arg('--page-size', 100), days: arg('--days', 7), intervalMinutes: arg('--interval', 360) })
    .then((r) => {
      process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      for (const row of rows(r)) process.stdout.write(`${row.metric}: ${row.value}${row.against ? ` (${row.against})` : ''}\n`);
    })
    .catch((e) => {
      process.stderr.write(String(e?.stack ?? e) + '\n');
      process.exit(1);
    });
}
