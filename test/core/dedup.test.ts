import { strict as assert } from 'node:assert';
import { RecentIds } from '../../src/core/dedup';

describe('record-Id de-duplication', () => {
  it('remembers Ids, within a bound', () => {
    const r = new RecentIds(4);
    for (const id of ['a', 'b']) r.add(id);
    assert.ok(r.has('a') && r.has('b') && !r.has('c'));
    for (const id of ['c', 'd', 'e', 'f']) r.add(id);
    assert.ok(r.size <= 4, `size ${r.size}`);
    assert.ok(r.has('f') && r.has('e'), 'the newest are kept');
    assert.ok(!r.has('a'), 'the oldest generation was dropped');
  });

  it('keeps memory flat however many Ids pass through', () => {
    const r = new RecentIds(1000);
    for (let i = 0; i < 100_000; i++) r.add(String(i));
    assert.ok(r.size <= 1000);
    assert.ok(r.has('99999'));
  });

  it('capacity 0 turns it off', () => {
    const r = new RecentIds(0);
    r.add('a');
    assert.equal(r.has('a'), false);
  });

  it('forgets an Id on request', () => {
    const r = new RecentIds(10);
    r.add('a');
    r.delete('a');
    assert.equal(r.has('a'), false);
  });
});
