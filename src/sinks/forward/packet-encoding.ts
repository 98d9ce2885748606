/**
 * What the forward and stdio sinks share: a batch encoded once into PackedForward packets (whole, or
 * event by event as it fills: Sink.encoder), sent as the same bytes on every attempt, and its pooled
 * buffers given back only once the batch is released and every write of it has completed. The sinks
 * differ only in where the bytes go and where acks come from.
 */
import type { BatchEncoder, EncodedBatch, OutEvent, Sink } from '../../contracts';
import { BridgeError } from '../../errors';
import { EventTooLargeError, PacketBuilder, type Packet } from './forward-protocol';

/** A batch encoded once: the same packets (same chunk ids) are written on every attempt, until released. */
export interface PacketBatch extends EncodedBatch {
  packets: Packet[];
  /** Writes whose callback has not come yet: the pooled buffers are reused only after these and release. */
  writing: number;
  released: boolean;
}

export class PacketEncoding {
  private readonly builder: PacketBuilder;

  /** `tooLargeHint` ends the SINK_EVENT_TOO_LARGE message: what the operator can raise. */
  constructor(
    maxBatchBytes: number,
    private readonly tooLargeHint: string,
  ) {
    this.builder = new PacketBuilder(maxBatchBytes);
  }

  /** Encodes a batch into packets, once. Throws SINK_EVENT_TOO_LARGE (not retryable, `details.index`). */
  encode(events: OutEvent[]): PacketBatch {
    let packets: Packet[];
    try {
      packets = this.builder.build(events);
    } catch (e) {
      throw this.encodeError(e, events);
    }
    return batchOf(packets, events.length);
  }

  /** Encodes a batch event by event (see Sink.encoder): the same packets `encode` makes of the same events. */
  encoder(): BatchEncoder {
    const stream = this.builder.stream();
    return {
      add: (ev) => {
        try {
          stream.add(ev);
        } catch (e) {
          throw this.encodeError(e, [ev], 0);
        }
      },
      get events() {
        return stream.events;
      },
      finish: () => batchOf(stream.finish(), stream.events),
      abandon: () => stream.abandon(),
    };
  }

  /** A write of one of the batch's packets is about to start. */
  writing(enc: PacketBatch): void {
    enc.writing++;
  }

  /** A write's callback came. */
  written(enc: PacketBatch): void {
    enc.writing--;
    this.freeIfDone(enc);
  }

  /** The batch will not be sent again: its pooled buffers go back once no write holds them. */
  release(enc: PacketBatch): void {
    enc.released = true;
    this.freeIfDone(enc);
  }

  private freeIfDone(enc: PacketBatch): void {
    if (!enc.released || enc.writing > 0 || enc.packets.length === 0) return;
    for (const p of enc.packets) this.builder.release(p);
    enc.packets = [];
  }

  private encodeError(e: unknown, events: readonly OutEvent[], index?: number): BridgeError {
    if (e instanceof EventTooLargeError) {
      const i = index ?? e.index;
      return new BridgeError('SINK_EVENT_TOO_LARGE', `${new EventTooLargeError(i, e.bytes, e.limit).message}; ${this.tooLargeHint}`, { retryable: false, details: { index: i, bytes: e.bytes, limit: e.limit, tag: events[i]?.tag } });
    }
    return new BridgeError('INTERNAL', `a record could not be encoded (${(e as Error).message})`, { retryable: false, cause: e });
  }
}

function batchOf(packets: Packet[], events: number): PacketBatch {
  let bytes = 0;
  for (const p of packets) bytes += p.bytes.length;
  return { events, bytes, packets, writing: 0, released: false };
}

/** encode + deliver + release, for callers that don't re-send (tests, tools). */
export async function sendOnce(sink: Pick<Sink, 'encode' | 'deliver' | 'release'>, events: OutEvent[]): Promise<void> {
  if (events.length === 0) return;
  const enc = sink.encode(events);
  try {
    await sink.deliver(enc);
  } finally {
    sink.release(enc);
  }
}
