/**
 * Scenario 0b: the record encoder, in this process, on the same events in the same run: the sink's
 * MsgpackWriter (one pass from the parsed record into the packet buffer, as PacketBuilder runs it) against
 * msgpackr (the fastest maintained JS encoder; compared only when installed: `npm i --no-save
 * msgpackr`) and @msgpack/msgpack, each producing the same PackedForward entries ([EventTime,
 * record] per event). Rounds alternate the encoders and the best of each counts; every encoder's
 * output is decoded and compared with the input first, so a faster but wrong encoder cannot win.
 */
import { decode, Encoder } from '@msgpack/msgpack';
import { isDeepStrictEqual } from 'node:util';
import { startEmulator } from '../../src/emulator';
import { MsgpackWriter } from '../../src/sinks/forward/msgpack-writer';
import { msgpackValueEnd } from '../../src/sinks/forward/msgpack-frames';
import { createRouter } from '../../src/shape/event';
import { createValidator } from '../../src/schema/validator';
import type { OutEvent } from '../../src/contracts';
import { buildMix } from '../validation';
import { fmt, fmtInt, pick, type BenchContext, type Row, type Scenario, type ScenarioResult } from '../harness';

interface Encoder1 {
  name: string;
  /** Encodes the events' entries ([time, record] each) into one buffer; returns its bytes. */
  entries(events: readonly OutEvent[]): Uint8Array;
}

/** Events as the router makes them (the o365_bridge metadata included), from parsed records. */
function toEvents(records: Record<string, unknown>[]): OutEvent[] {
  const v = createValidator();
  const r = createRouter({ tagPrefix: 'o365' });
  return records.map((rec) => r.route(rec, v.validate(rec), { tenantId: 't', contentType: 'Audit.General', contentId: 'c' }));
}

async function realisticRecords(n: number): Promise<Record<string, unknown>[]> {
  const emu = await startEmulator({ https: false, seed: 'bench-enc', profile: 'realistic', historyHours: 3, recordsPerHour: { 'Audit.AzureActiveDirectory': n * 0.1, 'Audit.Exchange': n * 0.1, 'Audit.SharePoint': n * 0.09, 'Audit.General': n * 0.07, 'DLP.All': n * 0.02 }, recordsPerBlob: 500 });
  try {
    const t = emu.tenants[0].tenantId;
    const now = Date.now();
    const out: Record<string, unknown>[] = [];
    for (const b of emu.ledger.blobs(t, now - 4 * 3_600_000, now)) {
      for (const rec of emu.ledger.blobRecords(b.contentId)) out.push(JSON.parse(JSON.stringify(rec)) as Record<string, unknown>);
      if (out.length >= n) break;
    }
    return out.slice(0, n);
  } finally {
    await emu.stop();
  }
}

function timeHead(w: MsgpackWriter, ev: OutEvent): void {
  const p = w.pos;
  w.ensure(11);
  const b = w.buf;
  b[p] = 0x92;
  b[p + 1] = 0xd7;
  b[p + 2] = 0x00;
  b.writeUInt32BE(ev.time.sec >>> 0, p + 3);
  b.writeUInt32BE(ev.time.nsec >>> 0, p + 7);
  w.pos = p + 11;
}

function makeEncoders(): Encoder1[] {
  const list: Encoder1[] = [];
  // The sink's inner loop (PacketBuilder.buildTag): time head, then the record, into one buffer.
  const mine = new MsgpackWriter(4 * 1024 * 1024);
  list.push({
    name: 'MsgpackWriter (sink)',
    entries(events) {
      mine.pos = 0;
      for (const ev of events) {
        timeHead(mine, ev);
        mine.value(ev.record);
      }
      return Buffer.from(mine.buf.subarray(0, mine.pos));
    },
  });
  // Same framing for the others: their record bytes are copied after the same 11-byte time header.
  const w = new MsgpackWriter(4 * 1024 * 1024);
  const enc = new Encoder();
  list.push({
    name: '@msgpack/msgpack',
    entries(events) {
      w.pos = 0;
      for (const ev of events) {
        timeHead(w, ev);
        const r = enc.encode(ev.record);
        w.ensure(r.length);
        w.buf.set(r, w.pos);
        w.pos += r.length;
      }
      return Buffer.from(w.buf.subarray(0, w.pos));
    },
  });
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Packr } = require('msgpackr') as { Packr: new (o: object) => { pack(v: unknown): Uint8Array } };
    const packr = new Packr({ useRecords: false, variableMapSize: true, skipValues: [undefined] });
    list.push({
      name: 'msgpackr',
      entries(events) {
        w.pos = 0;
        for (const ev of events) {
          timeHead(w, ev);
          const r = packr.pack(ev.record);
          w.ensure(r.length);
          w.buf.set(r, w.pos);
          w.pos += r.length;
        }
        return Buffer.from(w.buf.subarray(0, w.pos));
      },
    });
  } catch {
    // not installed: compared only where it is
  }
  return list;
}

/** Decodes concatenated entries and compares their records with the events'. */
function check(name: string, bytes: Uint8Array, events: readonly OutEvent[]): void {
  let pos = 0;
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < events.length; i++) {
    // [time, record]: skip the 11-byte head we write, decode the record up to the next entry.
    if (view[pos] !== 0x92 || view[pos + 1] !== 0xd7) throw new Error(`${name}: entry ${i} does not start with [EventTime, …]`);
    pos += 11;
    const next = i + 1 < events.length ? nextEntry(view, pos) : view.length;
    const rec = decode(view.subarray(pos, next));
    if (!isDeepStrictEqual(rec, JSON.parse(JSON.stringify(events[i].record)))) throw new Error(`${name}: record ${i} does not round-trip`);
    pos = next;
  }
}

function nextEntry(view: Buffer, from: number): number {
  return msgpackValueEnd(view, from, view.length);
}


async function measure(ctx: BenchContext, label: string, events: OutEvent[], rounds: number): Promise<Row[]> {
  const list = makeEncoders();
  for (const e of list) check(e.name, e.entries(events.slice(0, 200)), events.slice(0, 200));
  const batch = 1000;
  const best = new Map<string, number>();
  for (let r = 0; r < rounds; r++) {
    for (const e of list) {
      const t0 = process.cpuUsage();
      for (let i = 0; i < events.length; i += batch) e.entries(events.slice(i, i + batch));
      const u = process.cpuUsage(t0);
      const rate = events.length / ((u.user + u.system) / 1e6);
      if (rate > (best.get(e.name) ?? 0)) best.set(e.name, rate);
    }
  }
  const ours = best.get('MsgpackWriter (sink)')!;
  const rows: Row[] = [];
  const parts: string[] = [];
  for (const e of list) {
    const rate = best.get(e.name)!;
    parts.push(`${e.name} ${fmtInt(rate)} rec/s (${fmt(rate / ours)} ×)`);
    rows.push({ scenario: `0b encoder ${label}`, metric: `${e.name} records/CPU s`, value: fmtInt(rate), against: 'MsgpackWriter', ratio: fmt(rate / ours) });
  }
  ctx.log(`  [${label}] ${fmtInt(events.length)} events, best of ${rounds}: ${parts.join('; ')}`);
  return rows;
}

export const encoders: Scenario = {
  name: 'encoders',
  title: '0b. Record encoder: MsgpackWriter vs msgpackr vs @msgpack/msgpack',
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const n = pick(ctx.tier, { quick: 5_000, default: 10_000, full: 50_000 });
    const rounds = pick(ctx.tier, { quick: 3, default: 5, full: 9 });
    const realistic = toEvents(await realisticRecords(n));
    const defender = toEvents(buildMix(n).map((s) => JSON.parse(s) as Record<string, unknown>));
    const rows = [...(await measure(ctx, 'realistic', realistic, rounds)), ...(await measure(ctx, 'defender', defender, rounds))];
    const installed = rows.some((r) => r.metric.startsWith('msgpackr'));
    return {
      name: 'encoders',
      ran: `${fmtInt(n)} realistic-mix and ${fmtInt(n)} Defender events, batches of 1000, best of ${rounds} rounds (CPU time)`,
      rows,
      notes: installed ? [] : ['msgpackr not installed: `npm i --no-save msgpackr` to compare it'],
    };
  },
};
