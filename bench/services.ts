/**
 * Bench child: the emulator (HTTPS, own CA) and the forward receiver (counting only), both on
 * loopback, in one process apart from the bridge. Its CPU time is reported too: when it nears the
 * wall time, the figures measure the emulator, not the bridge.
 */
import { startEmulator, type Emulator } from '../src/emulator';
import type { EmulatorOptions } from '../src/emulator/types';
import { startReceiver, type Receiver, type ReceiverMode, type ReceiverOptions } from '../test/support/receiver';
import { cpuSeconds, serve } from './proc';

export interface ServicesStart {
  emulator: Omit<EmulatorOptions, 'now'>;
  receiver: Pick<ReceiverOptions, 'mode' | 'ackDelayMs'>;
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
  contentUri: string;
  records: number;
}

let emu: Emulator | undefined;
let rx: Receiver | undefined;

serve(
  {
    async start(a: ServicesStart): Promise<ServicesInfo> {
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
          out.push({ tenantId: t.tenantId, contentUri: b.contentUri, records: b.recordCount });
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
