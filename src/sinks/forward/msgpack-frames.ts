/**
 * Splits a TCP byte stream into whole msgpack values. TCP may split one server message over several
 * `data` events or merge several into one (fluent-logger assumes neither happens; see
 * docs/forward-delivery-findings.md), so every reader of the forward protocol frames first, then decodes.
 */

/**
 * Returns the offset just past the msgpack value starting at `pos`, or, when `buf` ends before the
 * value does, a negative number `~need` where `need` is the smallest end offset that could complete
 * it (lets the reader wait for that many bytes instead of re-scanning on every chunk).
 * Walks the structure without materialising anything; throws on the never-used byte 0xc1.
 */
export function msgpackValueEnd(buf: Uint8Array, pos: number, end: number): number {
  let pending = 1;
  while (pending > 0) {
    if (pos >= end) return ~(pos + 1);
    const t = buf[pos];
    pending--;
    if (t <= 0x7f || t >= 0xe0) { pos += 1; continue; } // fixint
    if (t <= 0x8f) { pending += 2 * (t & 0x0f); pos += 1; continue; } // fixmap
    if (t <= 0x9f) { pending += t & 0x0f; pos += 1; continue; } // fixarray
    if (t <= 0xbf) { pos += 1 + (t & 0x1f); continue; } // fixstr
    let head: number;
    let len = 0;
    switch (t) {
      case 0xc0: case 0xc2: case 0xc3: pos += 1; continue;
      case 0xcc: case 0xd0: pos += 2; continue;
      case 0xcd: case 0xd1: case 0xd4: pos += 3; continue;
      case 0xd5: pos += 4; continue;
      case 0xca: case 0xce: case 0xd2: pos += 5; continue;
      case 0xd6: pos += 6; continue;
      case 0xcb: case 0xcf: case 0xd3: pos += 9; continue;
      case 0xd7: pos += 10; continue;
      case 0xd8: pos += 18; continue;
      case 0xc4: case 0xd9: head = 2; break;
      case 0xc5: case 0xda: head = 3; break;
      case 0xc6: case 0xdb: head = 5; break;
      case 0xc7: head = 3; break; // ext 8: len, type
      case 0xc8: head = 4; break;
      case 0xc9: head = 6; break;
      case 0xdc: case 0xde: head = 3; break;
      case 0xdd: case 0xdf: head = 5; break;
      default: throw new Error(`invalid msgpack byte 0x${t.toString(16)}`);
    }
    if (pos + head > end) return ~(pos + head);
    if (head === 2 || t === 0xc7) len = buf[pos + 1];
    else if (head === 3 || t === 0xc8) len = (buf[pos + 1] << 8) | buf[pos + 2];
    else len = ((buf[pos + 1] << 24) >>> 0) + ((buf[pos + 2] << 16) | (buf[pos + 3] << 8) | buf[pos + 4]);
    if (t === 0xdc || t === 0xdd) { pending += len; pos += head; continue; }
    if (t === 0xde || t === 0xdf) { pending += 2 * len; pos += head; continue; }
    pos += head + len;
  }
  return pos <= end ? pos : ~pos;
}

/** Accumulates chunks and hands out complete msgpack values, in order. Bounded by `maxFrameBytes`. */
export class MsgpackFrameReader {
  private chunks: Buffer[] = [];
  private length = 0;
  private need = 1;

  constructor(private readonly maxFrameBytes: number) {}

  /** Feeds one chunk; calls `onFrame` for each complete value (a view valid during the call only). */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
    if (this.length < this.need) return;
    const buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.length);
    let pos = 0;
    this.need = 1;
    while (pos < buf.length) {
      const r = msgpackValueEnd(buf, pos, buf.length);
      if (r < 0) {
        this.need = ~r - pos;
        if (this.need > this.maxFrameBytes) throw new Error(`message over ${this.maxFrameBytes} bytes`);
        break;
      }
      onFrame(buf.subarray(pos, r));
      pos = r;
    }
    const rest = pos === 0 ? buf : buf.subarray(pos);
    if (rest.length > this.maxFrameBytes) throw new Error(`message over ${this.maxFrameBytes} bytes`);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.length = rest.length;
  }
}
