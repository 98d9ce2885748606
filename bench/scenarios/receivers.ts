/**
 * Scenario 6: end to end into the real receivers of ../shared/receivers, where present: Fluentd
 * 1.16.11 (forward input, file buffer, out_file) and Fluent Bit 4.2.8 (forward input, filesystem
 * storage, out_file). Records/s acknowledged, and the CPU of the bridge and of the receiver side by
 * side: the receiver is what a user pays for too. The receiver's CPU counts until it has written out
 * everything it acknowledged.
 */
import * as fs from 'node:fs';
import { bridgeOverrides, fmt, fmtInt, mib, pick, ratesFor, runBridge, startServices, type BenchContext, type Row, type Scenario, type ScenarioResult } from '../harness';
import { RealReceiver, receiversMissing, type Kind } from '../../test/interop/support/receivers';

/** User + system CPU seconds of a process so far (Linux /proc; NaN elsewhere). */
function processCpuSeconds(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}

function peakRssMiBOf(pid: number | undefined): number {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

export const receivers: Scenario = {
  name: 'receivers',
  title: '6. Into real Fluentd and Fluent Bit',
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const why = receiversMissing();
    if (why) return { name: 'receivers', ran: 'skipped', rows: [], notes: [`skipped: ${why}`] };
    const total = pick(ctx.tier, { quick: 10_000, default: 200_000, full: 1_000_000 });
    const hours = 6;
    const { child: services, info } = await startServices({
      emulator: { seed: 'bench-receivers', profile: 'realistic', historyHours: hours, recordsPerHour: ratesFor(total, hours), recordsPerBlob: 1000 },
      receiver: { mode: 'ack' },
    });
    const rows: Row[] = [];
    try {
      for (const kind of ['fluentd', 'fluent-bit'] as Kind[]) {
        const rr = await RealReceiver.start({ kind });
        try {
          const cpu0 = processCpuSeconds(rr.pid);
          const b = await runBridge(ctx, { services: info, overrides: withPort(bridgeOverrides(info, { initialLookbackHours: hours + 1 }), rr.port) }, `receivers-${kind}`);
          await rr.drain(300_000);
          const rxCpu = processCpuSeconds(rr.pid) - cpu0;
          const rate = b.acked / b.wallSeconds;
          const label = `6 ${rr.name}`;
          ctx.log(
            `  ${rr.name}: ${fmtInt(b.acked)} events acked in ${fmt(b.wallSeconds, 1)} s = ${fmtInt(rate)} records/s;` +
              ` CPU per 100k records: bridge ${fmt((b.cpuSeconds / b.acked) * 1e5)} s, receiver ${fmt((rxCpu / b.acked) * 1e5)} s; peak RSS bridge ${mib(b.peakRssMiB)}, receiver ${mib(peakRssMiBOf(rr.pid))}` +
              `${b.errors.length ? `; errors: ${b.errors.join('; ')}` : ''}`,
          );
          rows.push(
            { scenario: label, metric: 'records/s', value: fmtInt(rate) },
            { scenario: label, metric: 'CPU s / 100k records: bridge', value: fmt((b.cpuSeconds / b.acked) * 1e5) },
            { scenario: label, metric: 'CPU s / 100k records: receiver', value: fmt((rxCpu / b.acked) * 1e5), against: 'bridge', ratio: fmt(rxCpu / b.cpuSeconds) },
          );
        } finally {
          await rr.close();
        }
      }
    } finally {
      await services.stop();
    }
    return {
      name: 'receivers',
      ran: `${fmtInt(total)}-record backlog over ${hours} h (realistic profile, 1000 records/blob) into Fluentd 1.16.11 (file buffer, out_file) and Fluent Bit 4.2.8 (filesystem storage, out_file), one after the other`,
      rows,
    };
  },
};

function withPort(o: Record<string, unknown>, port: number): Record<string, unknown> {
  return { ...o, sink: { ...(o.sink as Record<string, unknown>), port } };
}
