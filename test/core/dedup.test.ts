import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { DeliveredIds, RecentIds, usableId } from '../../src/core/dedup';
import { GuidClaimTable, GuidTable, IdList, parseGuid } from '../../src/core/guid-table';

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

  it('keys on (tenant, Id): the same Id in another tenant is another record', () => {
    const d = new DeliveredIds(10);
    d.add('t1', 'a');
    assert.ok(d.has('t1', 'a'));
    assert.equal(d.has('t2', 'a'), false);
  });

  // issue 17: per-tenant Sets under one bound, with a bit filter in front of them (a set bit only
  // sends the lookup on to the Sets, so a collision never makes a record a duplicate).
  it('per tenant under one shared bound: the newest Ids are found, older generations dropped, colliding Ids not taken for delivered', () => {
    const d = new DeliveredIds(1000);
    for (let i = 0; i < 5000; i++) d.add(i % 2 ? 't1' : 't2', `id-${i}`);
    assert.ok(d.size <= 1000, `size ${d.size}`);
    for (let i = 4500; i < 5000; i++) assert.ok(d.has(i % 2 ? 't1' : 't2', `id-${i}`), `id-${i} is remembered`);
    for (let i = 0; i < 1000; i++) assert.equal(d.has(i % 2 ? 't1' : 't2', `id-${i}`), false, `id-${i} was dropped with its generation`);
    // 60,000 Ids never added: with ~2,000 bits set some share a bit with an added Id, and still are not delivered.
    for (let i = 0; i < 60_000; i++) assert.equal(d.has('t1', `other-${i}`), false);
    assert.equal(d.has('t2', 'id-4999'), false, 'the same Id in another tenant is another record');
    assert.equal(d.tenant('t1').has('id-4999'), true, 'the tenant view sees the same');
  });

  // issue 17: GUID Ids live in typed-array tables (guid-table.ts), the others in Sets; both behave alike.
  it('GUID Ids: exact per (tenant, Id), generations rotate and reuse their table, other Ids beside them', () => {
    const guid = (i: number, t = 0): string => `${(i >>> 0).toString(16).padStart(8, '0')}-${(t & 0xffff).toString(16).padStart(4, '0')}-4abc-8def-${(i * 2654435761 >>> 0).toString(16).padStart(12, '0')}`;
    const d = new DeliveredIds(2000);
    for (let i = 0; i < 10_000; i++) d.add(i % 3 ? 't1' : 't2', guid(i));
    d.add('t1', 'not-a-guid');
    d.add('t1', guid(1).toUpperCase());
    assert.ok(d.size <= 2000, `size ${d.size}`);
    for (let i = 9000; i < 10_000; i++) assert.ok(d.has(i % 3 ? 't1' : 't2', guid(i)), `guid ${i} is remembered`);
    for (let i = 0; i < 7000; i++) assert.equal(d.has(i % 3 ? 't1' : 't2', guid(i)), false, `guid ${i} was dropped with its generation`);
    assert.equal(d.has('t2', guid(9998)), false, 'another tenant');
    assert.equal(d.has('t3', guid(9999)), false, 'a tenant never seen');
    assert.ok(d.has('t1', 'not-a-guid') && d.has('t1', guid(1).toUpperCase()), 'Ids that are not lowercase GUIDs are kept as strings');
    assert.equal(d.has('t1', guid(1)), false, 'case matters: the lowercase GUID is another Id');
    // A GUID differing in one digit, and Ids that look like GUIDs but are not, are not delivered.
    assert.equal(d.has('t1', guid(9998).slice(0, 35) + (guid(9998).endsWith('0') ? '1' : '0')), false);
    assert.equal(d.has('t1', guid(9998).replace(/-/g, '_')), false);
    // The same Id added twice counts once.
    const e = new DeliveredIds(10);
    e.addAll('t', [guid(5), guid(5), guid(6)]);
    assert.equal(e.size, 2);
  });

  it('a GUID table holds more than planned by growing, and finds all of it', () => {
    const t = new GuidTable(10);
    const ids: string[] = [];
    for (let i = 0; i < 500; i++) ids.push(randomUUID());
    for (const id of ids) {
      assert.ok(parseGuid(id));
      assert.ok(t.add(1));
    }
    assert.equal(t.size, 500);
    for (const id of ids) {
      parseGuid(id);
      assert.ok(t.has(1) && !t.has(2), id);
      assert.equal(t.add(1), false, 'already there');
    }
    t.clear();
    assert.equal(t.size, 0);
    parseGuid(ids[0]);
    assert.equal(t.has(1), false);
    for (const bad of ['', 'x'.repeat(36), ids[0].toUpperCase(), ids[0].slice(1) + 'a', ids[0].replace('-', '0'), ids[0].slice(0, 35) + 'g']) assert.equal(parseGuid(bad), false, bad);
  });

  // issue 17: claims of GUID Ids sit in a GUID-keyed table (no Id string held until the ack).
  it('claims of GUID Ids behave as those of other Ids: first claim wins, only its batch ends it, per tenant', () => {
    const d = new DeliveredIds(10);
    const t = d.tenant('t1');
    const g = randomUUID();
    const first = new Promise<boolean>(() => undefined);
    const second = new Promise<boolean>(() => undefined);
    t.claim(g, first);
    t.claim(g, second);
    assert.equal(t.pending(g), first);
    assert.equal(d.tenant('t2').pending(g), undefined, 'per tenant');
    const list = new IdList();
    list.push(g);
    list.push('not-a-guid');
    t.claim('not-a-guid', second);
    t.unclaim(list, second);
    assert.equal(t.pending(g), first, 'only the claiming batch ends its claim');
    assert.equal(t.pending('not-a-guid'), undefined, 'the other Id was claimed by second: ended');
    t.unclaim([g], first);
    assert.equal(t.pending(g), undefined);
    // The outcome's number is reused once its claims are gone.
    const third = new Promise<boolean>(() => undefined);
    t.claim(g, third);
    assert.equal(t.pending(g), third);
  });

  it('the GUID claim table matches a Map under random claims and removals (backward-shift deletion)', () => {
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    // Few distinct GUIDs with shared words, so probe runs collide and wrap.
    const pool: string[] = [];
    for (let i = 0; i < 3000; i++) pool.push(`0000${(i % 7).toString(16)}000-0000-4000-8000-${(i * 7919).toString(16).padStart(12, '0')}`);
    const t = new GuidClaimTable();
    const model = new Map<string, number>();
    for (let step = 0; step < 60_000; step++) {
      const id = pool[rnd(pool.length)];
      assert.ok(parseGuid(id));
      if (rnd(3) === 0) {
        const v = 1 + rnd(5);
        const set = t.setIfAbsent(v);
        assert.equal(set, !model.has(id));
        if (set) model.set(id, v);
      } else {
        const v = 1 + rnd(5);
        const del = t.deleteIf(v);
        assert.equal(del, model.get(id) === v, `step ${step}`);
        if (del) model.delete(id);
      }
      if (step % 5000 === 0) {
        for (const p of pool) {
          parseGuid(p);
          assert.equal(t.get(), model.get(p) ?? 0);
        }
      }
    }
    assert.equal(t.size, model.size);
  });

  it('an IdList keeps GUIDs as words and gives back the same Ids; lists concatenate', () => {
    const gs = [randomUUID(), randomUUID(), randomUUID()];
    const a = new IdList();
    a.push(gs[0]);
    a.push('x-1');
    a.push(gs[1]);
    const b = new IdList();
    for (let i = 0; i < 100; i++) b.push(i === 50 ? gs[2] : `y-${i}`);
    assert.equal(a.length, 3);
    assert.deepEqual(a.toArray(), [gs[0], gs[1], 'x-1'], 'GUIDs first, then the others, each in order');
    const c = IdList.concat([a, new IdList(), b]);
    assert.equal(c.length, 103);
    assert.deepEqual(new Set(c), new Set([...a, ...b]));
    const big = new IdList();
    const many: string[] = [];
    for (let i = 0; i < 1000; i++) many.push(randomUUID());
    for (const g of many) big.push(g);
    assert.deepEqual(big.toArray(), many, 'grows past its first 64');
    // Acknowledged as words: DeliveredIds finds them as strings.
    const d = new DeliveredIds(5000);
    d.addAll('t', c);
    for (const id of c) assert.ok(d.has('t', id), id);
    assert.equal(d.has('t', randomUUID()), false);
  });

  it('only a non-empty string is a usable Id: a record without one is never a duplicate', () => {
    assert.equal(usableId({ Id: 'x' }), 'x');
    for (const r of [{}, { Id: '' }, { Id: 7 }, { Id: null }, { Id: ['x'] }, { Id: { a: 1 } }, null, 'Id', [1]]) assert.equal(usableId(r), undefined, JSON.stringify(r));
  });
  // issue 14: the persistent record Id store is told of acknowledged Ids, here, and only of them.
  it('tells onAdded of every Id added (acknowledged), per tenant; Ids seeded from an earlier run are not told again', () => {
    const told: Array<[string, string[]]> = [];
    const d = new DeliveredIds(100, (t, ids) => told.push([t, [...ids]]));
    d.seed('t1', ['old']);
    assert.equal(d.has('t1', 'old'), true);
    d.addAll('t1', ['a', 'b']);
    d.addAll('t2', []);
    d.add('t2', 'a');
    assert.deepEqual(told, [
      ['t1', ['a', 'b']],
      ['t2', ['a']],
    ]);
    assert.equal(d.has('t2', 'b'), false);
  });

  it('a record on its way: its claim holds the first batch\'s outcome until that batch settles, then ends', async () => {
    const d = new DeliveredIds(10);
    const k = d.key('t1', 'a');
    let settle!: (v: boolean) => void;
    const first = new Promise<boolean>((r) => (settle = r));
    d.claim(k, first);
    d.claim(k, Promise.resolve(true)); // a second copy does not take the claim over
    assert.equal(d.pending(k), first);
    assert.equal(d.pending(d.key('t2', 'a')), undefined, 'per tenant');
    d.unclaim([k], Promise.resolve(true));
    assert.equal(d.pending(k), first, 'only the claiming batch ends its claim');
    settle(false);
    d.unclaim([k], first);
    assert.equal(d.pending(k), undefined);
    assert.equal(new DeliveredIds(0).pending(k), undefined, 'de-dup off: nothing is skipped');
  });
});
