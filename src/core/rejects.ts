/**
 * The reduced form of an event the sink refused for good (SINK_EVENT_TOO_LARGE, an unencodable value):
 * the fields that identify it, why it was refused, its original size, and as much of the record as
 * fits, as JSON text. Delivered to the quarantine tag instead of being retried as it is forever.
 * Which fields identify a record, and which tag is the quarantine, are the wiring's business (bridge.ts).
 */
import type { OutEvent } from '../contracts';

export interface RejectInfo {
  code: string;
  message: string;
  /** The original event's encoded size, when the sink measured it. */
  bytes?: number;
}

export interface ReduceOptions {
  /** Top-level fields copied as they are (only string and number values: they are small). */
  keep: readonly string[];
  /** Where the bridge's metadata lives in a record; the reason is added to it under `rejected`. */
  metaKey: string;
  /** The quarantine tag for this event. */
  tag(ev: OutEvent): string;
  /** Largest excerpt of the record's JSON, in bytes. */
  excerptBytes: number;
}

export type Reducer = (ev: OutEvent, why: RejectInfo) => OutEvent;

export function makeReducer(o: ReduceOptions): Reducer {
  return (ev, why) => {
    const src = ev.record;
    const rec: Record<string, unknown> = {};
    for (const k of o.keep) {
      const v = src[k];
      if ((typeof v === 'string' && v.length <= 1024) || typeof v === 'number') rec[k] = v;
    }
    const meta = src[o.metaKey];
    const { [o.metaKey]: _drop, ...rest } = src;
    void _drop;
    let text: string;
    try {
      text = JSON.stringify(rest) ?? '';
    } catch {
      text = '';
    }
    const full = Buffer.byteLength(text);
    const excerpt = full <= o.excerptBytes ? text : Buffer.from(text).subarray(0, o.excerptBytes).toString('utf8');
    // The validation findings can be long; the reason of the refusal replaces them.
    const { errors: _e, warnings: _w, ...m } = meta && typeof meta === 'object' ? (meta as Record<string, unknown>) : {};
    void _e;
    void _w;
    rec[o.metaKey] = {
      ...m,
      errors: [{ path: '', keyword: 'rejected', message: why.message.slice(0, 500) }],
      rejected: { code: why.code, bytes: why.bytes ?? full, excerptComplete: full <= o.excerptBytes },
    };
    rec.excerpt = excerpt;
    return { tag: o.tag(ev), time: ev.time, record: rec };
  };
}
