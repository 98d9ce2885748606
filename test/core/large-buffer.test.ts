import { strict as assert } from 'node:assert';
import { LARGE_BYTES, RESIZABLE, allocLarge, dropLarge, growLarge, shrinkLarge } from '../../src/core/large-buffer';

const resizable = (b: Buffer): boolean => (b.buffer as ArrayBuffer & { resizable?: boolean }).resizable === true;
const maxBytes = (b: Buffer): number => (b.buffer as ArrayBuffer & { maxByteLength: number }).maxByteLength;

// issue 17: buffers of LARGE_BYTES and more are resizable ArrayBuffers (V8's page allocator, not
// malloc), so freeing one never raises glibc's mmap threshold and nothing of them lands in the brk heap.
describe('large buffers outside malloc', () => {
  it('the runtime has resizable ArrayBuffers (Node 20)', () => {
    assert.equal(RESIZABLE, true);
  });

  it('small ones are ordinary Buffers; large ones are resizable, of the asked length, reserving what was asked', () => {
    assert.equal(resizable(allocLarge(LARGE_BYTES - 1)), false);
    const b = allocLarge(LARGE_BYTES, 1_000_000);
    assert.equal(b.length, LARGE_BYTES);
    assert.equal(resizable(b), true);
    assert.ok(maxBytes(b) >= 1_000_000 && maxBytes(b) % 4096 === 0);
  });

  it('grows in place within its reservation: the same memory, contents and earlier views kept', () => {
    const b = allocLarge(LARGE_BYTES, 4 * LARGE_BYTES);
    b.fill(7);
    const view = b.subarray(10, 20);
    const g = growLarge(b, 3 * LARGE_BYTES, LARGE_BYTES);
    assert.equal(g.buffer, b.buffer);
    assert.equal(g.length, 3 * LARGE_BYTES);
    assert.equal(g[LARGE_BYTES - 1], 7);
    assert.deepEqual([...view], new Array(10).fill(7));
  });

  it('past its reservation, a new one reserving twice the size, with the kept bytes copied', () => {
    const b = allocLarge(LARGE_BYTES);
    b.fill(3);
    const g = growLarge(b, 2 * LARGE_BYTES + 5, 100);
    assert.notEqual(g.buffer, b.buffer);
    assert.equal(g.length, 2 * LARGE_BYTES + 5);
    assert.equal(resizable(g), true);
    assert.ok(maxBytes(g) >= 2 * (2 * LARGE_BYTES + 5));
    assert.equal(g[99], 3);
  });

  it('an ordinary Buffer grows by a copy', () => {
    const b = Buffer.from('hello');
    const g = growLarge(b, LARGE_BYTES, 5);
    assert.equal(g.subarray(0, 5).toString(), 'hello');
    assert.equal(resizable(g), true);
  });

  it('shrinks (its pages given back) and can grow again; a view or an ordinary Buffer is left as it is', () => {
    const b = allocLarge(4 * LARGE_BYTES);
    const s = shrinkLarge(b, LARGE_BYTES);
    assert.equal(s.length, LARGE_BYTES);
    assert.equal(s.buffer.byteLength, LARGE_BYTES);
    assert.equal(growLarge(s, 4 * LARGE_BYTES, 0).buffer, b.buffer);
    const plain = Buffer.alloc(10);
    assert.equal(shrinkLarge(plain, 5), plain);
    const sub = allocLarge(2 * LARGE_BYTES).subarray(1);
    assert.equal(shrinkLarge(sub, 5), sub);
  });

  it('a dropped one is emptied at once (its pages given back); a view or an ordinary Buffer is left as it is', () => {
    const b = allocLarge(4 * LARGE_BYTES);
    b.fill(1);
    dropLarge(b);
    assert.equal(b.buffer.byteLength, 0);
    assert.equal(b.length, 0);
    const plain = Buffer.alloc(10, 2);
    dropLarge(plain);
    assert.equal(plain.length, 10);
    const whole = allocLarge(2 * LARGE_BYTES);
    dropLarge(whole.subarray(1));
    assert.equal(whole.buffer.byteLength, 2 * LARGE_BYTES);
  });
});
