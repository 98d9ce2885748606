/**
 * Bench child: the emulator (HTTPS, own CA) and the forward receiver (counting only), both on
 * loopback, in one process apart from the bridge. Its CPU time is reported too: when it nears the
 * wall time, the figures measure the emulator, not the bridge.
 */
import { startEmulator, type Emulator } from '../src/emulator';
import type { EmulatorOptions } from '../src/emulator/types';
import { startReceiver, type Receiver, type ReceiverMode, type ReceiverOptions } from '../test/support/receiver';
import { GENERAL_MIX } from '../src/emulator/records/general';
import { cpuSeconds, serve } from './proc';

export interface ServicesStart {
  emulator: Omit<EmulatorOptions, 'now'>;
  receiver: Pick<ReceiverOptions, 'mode' | 'ackDelayMs'>;
  /**
   * Audit.General carries only the Defender for Office 365 types 28, 41, 47 and 64 (the larger
   * records, with their own schemas). The emulator has no option for a record mix, so this process
   * (the bench's own) trims the Audit.General table to its first four builders, which are those.
   */
  defenderOnly?: boolean;
}

/** The builders of GENERAL_MIX that make RecordType 28, 41, 47 and 64, in table order. */
const DEFENDER_BUILDERS = 4;

function trimToDefender(): void {
  const t = GENERAL_MIX;
  const names = t.values.slice(0, DEFENDER_BUILDERS).map((f) => f.name).join(',');
  // Guards the assumption above: a reordered table must fail the scenario, not measure another mix.
  if (names !== 'tiMail,tiUrlClick,atpDetection,airInvestigation') throw new Error(`Audit.General table changed (${names}); update bench/services.ts`);
  t.values.length = DEFENDER_BUILDERS;
  t.cumulative.length = DEFENDER_BUILDERS;
  t.total = t.cumulative[DEFENDER_BUILDERS - 1];
}

export interface ServicesInfo {
  url: string;
  ca?: string;
  tenants: Array<{ tenantId: string; clientId: string; clientSecret: string }>;
  receiverPort: number;
  /** The emulator's clock at start (ms): both children derive their windows from it. */
  now: number;
}

export interface ServicesCounts {
  received: number;
  acked: number;
  connections: number;
  cpuSeconds: number;
  rssMiB: number;
  emulator: { requests: number; throttled: number; byRoute: Record<string, number>; byStatus: Record<string, number>; served: { blobs: number; records: number; bytes: number } };
}

export interface BlobListing {
  tenantId: string;
  contentId: string;
  contentUri: string;
  /** ms since epoch. */
  contentCreated: number;
  records: number;
}

let emu: Emulator | undefined;
let rx: Receiver | undefined;

serve(
  {
    async start(a: ServicesStart): Promise<ServicesInfo> {
      if (a.defenderOnly) trimToDefender();
      emu = await startEmulator({ https: true, ...a.emulator });
      rx = await startReceiver({ store: 'count', mode: a.receiver.mode ?? 'ack', ackDelayMs: a.receiver.ackDelayMs });
      return {
        url: emu.url,
        ca: emu.ca,
        tenants: emu.tenants.map((t) => ({ tenantId: t.tenantId, clientId: t.clientId, clientSecret: t.clientSecret })),
        receiverPort: rx.port,
        now: Date.now(),
      };
    },
    counts(): ServicesCounts {
      const s = emu!.stats();
      return {
        received: rx!.received,
        acked: rx!.acked,
        connections: rx!.connections,
        cpuSeconds: cpuSeconds(),
        rssMiB: process.memoryUsage.rss() / 1048576,
        emulator: { requests: s.requests, throttled: s.throttled, byRoute: s.byRoute, byStatus: s.byStatus, served: emu!.ledger.served() },
      };
    },
    /** Listable, unexpired blobs with contentCreated in [t0, t1), per tenant (what a complete client fetches). */
    blobs(a: { t0: number; t1: number; asOf: number; tenants?: number }): BlobListing[] {
      const out: BlobListing[] = [];
      for (const t of emu!.tenants.slice(0, a.tenants ?? emu!.tenants.length)) {
        for (const b of emu!.ledger.blobs(t.tenantId, a.t0, a.t1, { asOf: a.asOf })) {
          out.push({ tenantId: t.tenantId, contentId: b.contentId, contentUri: b.contentUri, contentCreated: b.contentCreated, records: b.recordCount });
        }
      }
      return out;
    },
    setReceiverMode(a: { mode: ReceiverMode; ackDelayMs?: number }): void {
      rx!.setMode(a.mode, { ackDelayMs: a.ackDelayMs });
    },
  },
  async () => {
    await rx?.stop();
    await emu?.stop();
  },
);
