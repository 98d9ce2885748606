import { IdList } from '../../src/core/guid-table';
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RecentIdsStore, RECORD_IDS_FILE, recordIdsFile } from '../../src/state/recent-ids-store';
import * as largeBuffer from '../../src/core/large-buffer';

const H = 3_600_000;
const T0 = Date.UTC(2025, 2, 10, 12, 30, 0);
const guid = (i: number) => `${i.toString(16).padStart(8, '0')}-1111-4222-8333-${(i * 7).toString(16).padStart(12, '0')}`;

describe('state/recent-ids-store', () => {
  let dir: string;
  let now = T0;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'o365fb-ids-'));
    now = T0;
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const store = (o: { hours?: number; maxIds?: number; onProblem?: (m: string) => void } = {}) => new RecentIdsStore(dir, { now: () => now, ...o });

  it('a restart gets back the Ids delivered before it, oldest first (GUIDs in 16 bytes, other Ids as text)', async () => {
    const a = store();
    a.noteDelivered([guid(1), guid(2)], T0 - 2 * H);
    a.noteDelivered(['not-a-guid-Id', guid(3), 'ABCDEF00-1111-4222-8333-000000000000'], T0);
    await a.save();
    const b = store();
    assert.deepEqual(await b.load(), [guid(1), guid(2), guid(3), 'not-a-guid-Id', 'ABCDEF00-1111-4222-8333-000000000000']);
    // 8 magic + 2 buckets × 8 + 3 GUIDs × 17 + 2 texts × (3 + length)
    assert.equal(fs.statSync(path.join(dir, RECORD_IDS_FILE)).size, 8 + 16 + 3 * 17 + (3 + 13) + (3 + 36));
  });

  it('takes an acknowledged batch\'s IdList as it is (GUID words, other Ids as text): the same file and journal', async () => {
    const list = new IdList();
    for (const id of [guid(1), 'not-a-guid-Id', guid(2), 'ABCDEF00-1111-4222-8333-000000000000']) list.push(id);
    const a = store();
    a.noteDelivered(list, T0);
    // Crash before a save: the journal alone brings them back.
    assert.deepEqual(await store().load(), [guid(1), guid(2), 'not-a-guid-Id', 'ABCDEF00-1111-4222-8333-000000000000']);
    await a.save();
    assert.deepEqual(await store().load(), [guid(1), guid(2), 'not-a-guid-Id', 'ABCDEF00-1111-4222-8333-000000000000']);
  });

  it('is bounded by age: Ids older than `hours` are not loaded and not saved', async () => {
    const a = store({ hours: 24 });
    a.noteDelivered([guid(1)], T0 - 30 * H);
    a.noteDelivered([guid(2)], T0 - 2 * H);
    await a.save();
    assert.deepEqual(await store({ hours: 24 }).load(), [guid(2)]);
    now = T0 + 23 * H;
    assert.deepEqual(await store({ hours: 24 }).load(), []);
  });

  it('is bounded by count: beyond maxIds the oldest go first', async () => {
    const a = store({ maxIds: 1000 });
    for (let h = 5; h >= 0; h--) a.noteDelivered(Array.from({ length: 300 }, (_, i) => guid(h * 1000 + i)), T0 - h * H);
    assert.equal(a.size, 1000);
    await a.save();
    const ids = await store({ maxIds: 1000 }).load();
    assert.equal(ids.length, 1000);
    assert.equal(ids[ids.length - 1], guid(299));
    assert.equal(ids[0], guid(3000 + 200), 'the oldest bucket was trimmed from its oldest entries');
  });

  it('maxIds 0 (de-dup off) keeps nothing', async () => {
    const a = store({ maxIds: 0 });
    a.noteDelivered([guid(1)]);
    await a.save();
    assert.deepEqual(await store().load(), []);
  });

  it('a garbled file is dropped with a warning (duplicates at worst, never a stop)', async () => {
    fs.writeFileSync(path.join(dir, RECORD_IDS_FILE), 'garbage');
    const problems: string[] = [];
    assert.deepEqual(await store({ onProblem: (m) => problems.push(m) }).load(), []);
    assert.match(problems[0], /not a valid record Id store/);
    const a = store();
    a.noteDelivered([guid(1)]);
    await a.save();
    const buf = fs.readFileSync(path.join(dir, RECORD_IDS_FILE));
    fs.writeFileSync(path.join(dir, RECORD_IDS_FILE), buf.subarray(0, buf.length - 3));
    assert.deepEqual(await store({ onProblem: (m) => problems.push(m) }).load(), []);
    assert.equal(problems.length, 2);
  });

  it('one store per tenant: its own file, its own Ids', async () => {
    const a = new RecentIdsStore(dir, { tenantId: 'tenant-a', now: () => now });
    const b = new RecentIdsStore(dir, { tenantId: 'tenant-b', now: () => now });
    a.noteDelivered([guid(1)]);
    b.noteDelivered([guid(2)]);
    await a.save();
    await b.save();
    assert.deepEqual(fs.readdirSync(dir).sort(), [recordIdsFile('tenant-a'), recordIdsFile('tenant-b')]);
    assert.deepEqual(await new RecentIdsStore(dir, { tenantId: 'tenant-a', now: () => now }).load(), [guid(1)]);
  });

  // issue 17: a snapshot of 100k Ids is 1.7 MB; from malloc, freeing it raised glibc's mmap threshold.
  it('a large snapshot is encoded into a buffer outside malloc (large-buffer.ts)', async () => {
    const sizes: number[] = [];
    const lb = largeBuffer as { allocLarge: typeof largeBuffer.allocLarge };
    const orig = lb.allocLarge;
    lb.allocLarge = (n, r) => (sizes.push(n), orig(n, r));
    try {
      const a = store();
      a.noteDelivered(Array.from({ length: 5000 }, (_, i) => guid(i)));
      await a.save();
    } finally {
      lb.allocLarge = orig;
    }
    assert.ok(sizes.some((n) => n >= 5000 * 17), `sizes ${sizes}`);
    assert.equal((await store().load()).length, 5000);
  });

  it('saves only when something changed, atomically (no temp file left)', async () => {
    const a = store();
    await a.save();
    assert.ok(!fs.existsSync(path.join(dir, RECORD_IDS_FILE)));
    a.noteDelivered([guid(9)]);
    await a.save();
    assert.deepEqual(fs.readdirSync(dir), [RECORD_IDS_FILE]);
  });

  describe('the journal (a kill -9 between two saves)', () => {
    const journal = () => path.join(dir, RECORD_IDS_FILE + '.journal');

    it('Ids handed over after the last save are known again after a crash (no save, no close)', async () => {
      const a = store();
      a.noteDelivered([guid(1)], T0 - H);
      await a.save();
      a.noteDelivered([guid(2), 'text-id-3'], T0);
      a.noteDelivered([guid(4)], T0);
      // The process dies here: no save, the journal fd is never closed.
      const problems: string[] = [];
      assert.deepEqual(await store({ onProblem: (m) => problems.push(m) }).load(), [guid(1), guid(2), guid(4), 'text-id-3']);
      assert.deepEqual(problems, []);
    });

    it('a save empties the journal; a restart then reads the file alone', async () => {
      const a = store();
      a.noteDelivered([guid(1), guid(2)]);
      assert.ok(fs.statSync(journal()).size > 0);
      await a.save();
      assert.ok(!fs.existsSync(journal()) && !fs.existsSync(journal() + '.old'));
      a.noteDelivered([guid(3)]);
      const b = store();
      assert.deepEqual(await b.load(), [guid(1), guid(2), guid(3)]);
      // Loaded from the journal: the next save writes them into the file and clears it.
      await b.save();
      assert.deepEqual(fs.readdirSync(dir), [RECORD_IDS_FILE]);
      assert.deepEqual(await store().load(), [guid(1), guid(2), guid(3)]);
    });

    it('a torn last entry (power loss mid-write) is ignored; the entries before it are kept', async () => {
      const a = store();
      a.noteDelivered([guid(1)]);
      a.noteDelivered([guid(2), guid(3)]);
      const full = fs.readFileSync(journal());
      fs.writeFileSync(journal(), full.subarray(0, full.length - 5));
      const problems: string[] = [];
      assert.deepEqual(await store({ onProblem: (m) => problems.push(m) }).load(), [guid(1)]);
      assert.match(problems[0], /incomplete entry/);
    });

    it('a save that fails keeps the moved journal; the next start and the next save still have every Id', async () => {
      const a = store();
      a.noteDelivered([guid(1)]);
      // The store file's place taken by a directory: the atomic rename fails.
      fs.mkdirSync(path.join(dir, RECORD_IDS_FILE));
      await assert.rejects(a.save());
      assert.ok(fs.existsSync(journal() + '.old'));
      a.noteDelivered([guid(2)]);
      assert.deepEqual((await store().load()).sort(), [guid(1), guid(2)]);
      fs.rmdirSync(path.join(dir, RECORD_IDS_FILE));
      await a.save();
      assert.deepEqual(fs.readdirSync(dir), [RECORD_IDS_FILE]);
      assert.deepEqual(await store().load(), [guid(1), guid(2)]);
    });

    it('a journal that cannot be written is told once and never stops delivery', async () => {
      fs.mkdirSync(journal());
      const problems: string[] = [];
      const a = store({ onProblem: (m) => problems.push(m) });
      a.noteDelivered([guid(1)]);
      a.noteDelivered([guid(2)]);
      assert.equal(problems.length, 1);
      assert.match(problems[0], /cannot append to .*journal \(EISDIR\); until the next save/);
      assert.equal(a.size, 2);
    });

    it('keeps every Id of a long run of batches, in order, bounded by maxIds (chunks filled in place)', async () => {
      const a = store({ maxIds: 5000 });
      for (let k = 0; k < 30; k++) a.noteDelivered(Array.from({ length: 250 }, (_, i) => guid(k * 250 + i)));
      assert.equal(a.size, 5000);
      const ids = await store({ maxIds: 5000 }).load();
      assert.equal(ids.length, 5000);
      assert.equal(ids[0], guid(2500));
      assert.equal(ids[4999], guid(7499));
    });
  });
});
