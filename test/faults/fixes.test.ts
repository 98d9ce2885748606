/**
 * The product fixes the fault suite needed, pinned down at unit level (fast, in-process), next to the
 * scenarios that found them.
 */
import { strict as assert } from 'node:assert';
import { readRecords, renameProtoKeys, PROTO_KEY_RENAMED } from '../../src/sources/o365/blob-reader';
import { isContentRef } from '../../src/sources/o365/windows';
import { createForwardSink } from '../../src/sinks/forward/forward';
import type { OutEvent } from '../../src/contracts';
import { startReceiver } from '../support/receiver';

async function readAll(chunks: Buffer[]) {
  const out = [];
  for await (const item of readRecords((async function* () { yield* chunks; })())) out.push(item);
  return out;
}

describe('faults: fixes at unit level', () => {
  it('a record whose text may hold __proto__ is flagged; renameProtoKeys renames it at any depth and keeps its value', async () => {
    const [item] = await readAll([Buffer.from('[{"Id":"a","__proto__":{"p":1},"x":{"__pr\\u006fto__":2},"constructor":{"prototype":{}}}]')]);
    assert.equal(item.mayHaveProtoKey, true);
    const rec = item.record as Record<string, unknown>;
    assert.ok(renameProtoKeys(rec));
    assert.ok(!Object.prototype.hasOwnProperty.call(rec, '__proto__'));
    assert.deepEqual(rec[PROTO_KEY_RENAMED], { p: 1 });
    assert.deepEqual((rec.x as Record<string, unknown>)[PROTO_KEY_RENAMED], 2);
    assert.equal(Object.getPrototypeOf(rec), Object.prototype);
    assert.equal(({} as Record<string, unknown>).p, undefined);
    assert.equal(renameProtoKeys({ a: [{ b: 1 }] }), false);
  });

  it('invalid UTF-8 is flagged as repaired; a real U+FFFD is not', async () => {
    const bad = Buffer.concat([Buffer.from('[{"s":"a'), Buffer.from([0xff]), Buffer.from('b"},{"s":"\u{fffd}"}]')]);
    const items = await readAll([bad]);
    assert.match(items[0].repaired ?? '', /invalid UTF-8/);
    assert.equal(items[1].repaired, undefined);
  });

  it('isContentRef: only objects with contentId, contentUri and a parseable contentCreated', () => {
    const ok = { contentId: 'a', contentUri: 'https://x/a', contentCreated: '2024-01-01T00:00:00.000Z', contentExpiration: '2024-01-08T00:00:00.000Z' };
    assert.equal(isContentRef(ok), true);
    for (const bad of [null, 1, 'x', [ok], {}, { ...ok, contentId: 5 }, { ...ok, contentId: '' }, { ...ok, contentUri: null }, { ...ok, contentCreated: 'yesterday' }]) {
      assert.equal(isContentRef(bad), false, JSON.stringify(bad));
    }
  });

  it('forward sink: a batch queued behind a full in-flight window does not time out while the packets ahead are acked in time', async () => {
    // Each ack takes 100 ms, the timeout is 1 s, one packet in flight: the last of 15 batches waits ~1.4 s in the queue.
    const rx = await startReceiver({ mode: 'slow-ack', ackDelayMs: 100 });
    const sink = createForwardSink({ host: '127.0.0.1', port: rx.port, ackTimeoutMs: 1000, maxInFlight: 1 });
    const ev = (i: number): OutEvent => ({ tag: 't', time: { sec: 1_700_000_000, nsec: 0 }, record: { Id: `id-${i}` } });
    try {
      const results = await Promise.allSettled(Array.from({ length: 15 }, (_, i) => sink.send([ev(i)])));
      assert.deepEqual(results.map((r) => r.status), new Array(15).fill('fulfilled'), JSON.stringify(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))));
      assert.equal(rx.received, 15, 'nothing sent twice');
    } finally {
      await sink.close();
      await rx.stop();
    }
  });
});
