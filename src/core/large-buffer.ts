/**
 * Large buffers that do not come from malloc (issue 17).
 *
 * Node allocates a Buffer's memory with glibc's malloc. glibc serves big requests (at first those of
 * 128 KiB and more) with their own mmap, but each time such a chunk is freed it raises that threshold
 * to the chunk's size (up to 32 MiB). After the first multi-MiB buffer was collected, every batch,
 * scratch and snapshot buffer came from the brk heap, which fragments and is seldom given back: it held
 * 27 MiB in the memory bench, against 15 MiB with MALLOC_MMAP_THRESHOLD_ fixed from outside.
 *
 * A resizable ArrayBuffer is different: V8 reserves its maximum size with the page allocator (mmap)
 * and commits pages as it grows, and gives them back when it shrinks or is collected; malloc never sees
 * it. So buffers of LARGE_BYTES and more are made that way, and can grow in place without a copy.
 */

/** From this size on, allocLarge leaves malloc. Socket reads (64 KiB) and below stay ordinary Buffers. */
export const LARGE_BYTES = 64 * 1024;

const PAGE = 4096;

type ResizableArrayBuffer = ArrayBuffer & { readonly maxByteLength: number; readonly resizable: boolean; resize(n: number): void };
type ResizableCtor = new (n: number, opts: { maxByteLength: number }) => ResizableArrayBuffer;

function probe(): boolean {
  try {
    return (new (ArrayBuffer as unknown as ResizableCtor)(1, { maxByteLength: PAGE })).resizable === true;
  } catch {
    return false;
  }
}

/** Whether the runtime has resizable ArrayBuffers (Node 20 has them); without, ordinary Buffers are used. */
export const RESIZABLE = probe();

const roundUp = (n: number): number => Math.ceil(n / PAGE) * PAGE;

/**
 * An uninitialised Buffer of `n` bytes that may later grow in place (growLarge) up to `reserve` bytes.
 * Below LARGE_BYTES it is an ordinary Buffer. Pages never written are never resident.
 */
export function allocLarge(n: number, reserve = n): Buffer {
  if (n < LARGE_BYTES || !RESIZABLE) return Buffer.allocUnsafe(n);
  const ab = new (ArrayBuffer as unknown as ResizableCtor)(n, { maxByteLength: roundUp(Math.max(n, reserve)) });
  return Buffer.from(ab, 0, n);
}

/** Whether `buf` is a whole buffer from allocLarge that can grow in place to `n` bytes. */
function growable(buf: Buffer, n: number): boolean {
  const ab = buf.buffer as ResizableArrayBuffer;
  return ab.resizable === true && buf.byteOffset === 0 && buf.length === ab.byteLength && n <= ab.maxByteLength;
}

/**
 * `buf` grown to at least `n` bytes, its first `keep` bytes kept: in place when its reservation allows
 * (no copy; views of it stay valid), else a new buffer reserving twice `n` and a copy.
 */
export function growLarge(buf: Buffer, n: number, keep: number): Buffer {
  if (growable(buf, n)) {
    const ab = buf.buffer as ResizableArrayBuffer;
    ab.resize(n);
    return Buffer.from(ab, 0, n);
  }
  const next = allocLarge(n, 2 * n);
  buf.copy(next, 0, 0, keep);
  return next;
}

/**
 * Gives back the resident pages of `buf` past its first `n` bytes (a buffer from allocLarge that is
 * kept for reuse but will not need its size soon); returns the shrunk buffer, or `buf` when it can't.
 */
export function shrinkLarge(buf: Buffer, n: number): Buffer {
  const ab = buf.buffer as ResizableArrayBuffer;
  if (ab.resizable !== true || buf.byteOffset !== 0 || buf.length !== ab.byteLength || n >= buf.length) return buf;
  ab.resize(n);
  return Buffer.from(ab, 0, n);
}

/**
 * Gives back every resident page of `buf` now (a buffer from allocLarge that is dropped, not pooled):
 * otherwise they stay resident until a mark-compact collects its (long promoted) wrapper, seconds
 * later, and dropped batch buffers and entry stores piled up between two of them. Nothing may use
 * `buf`, or a view of it, afterwards.
 */
export function dropLarge(buf: Buffer): void {
  const ab = buf.buffer as ResizableArrayBuffer;
  if (ab.resizable === true && buf.byteOffset === 0 && buf.length === ab.byteLength) ab.resize(0);
}
