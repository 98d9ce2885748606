import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DAY_MS, DeliveredBlobs, blobKey, dayOf, readLastSweep, type SweepRecord } from '../../src/state/delivered-blobs';
import { BridgeError } from '../../src/errors';

const TENANT = '3f2e1d0c-4b5a-4968-8776-a5b4c3d2e1f0';
const CT = 'Audit.General';
const T0 = Date.UTC(2025, 2, 10, 12, 0, 0);

const id = (i: number) => `${String(20250310120000 + i)}$${String(20250310120000 + i)}$3f2e1d0c4b5a49688776a5b4c3d2e1f0gen2025031012$${i.toString(16).padStart(32, '0')}$04`;

describe('state/delivered-blobs', () => {
  let dir: string;
  let now = T0;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'o365fb-delivered-'));
    now = T0;
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const open = () => DeliveredBlobs.open(dir, TENANT, CT, { now: () => now });

  it('remembers finished blobs across a restart, one file per UTC day of contentCreated', async () => {
    const a = await open();
    assert.equal(a.existed, false);
    a.add(id(1), new Date(T0 - 2 * DAY_MS).toISOString());
    a.add(id(2), T0 - 1000);
    a.add(id(2), T0 - 1000); // twice: once
    assert.equal(a.size, 2);
    assert.ok(a.has(id(1), new Date(T0 - 2 * DAY_MS).toISOString()));
    assert.ok(!a.has(id(3), T0 - 1000));
    // Looked up in the day of its contentCreated: the same id under another day is another blob.
    assert.ok(!a.has(id(1), T0));
    await a.flush();
    const files = fs.readdirSync(dir).sort();
    assert.deepEqual(files, [
      `delivered.${TENANT}.${CT}.${dayOf(T0 - 2 * DAY_MS)}.bin`,
      `delivered.${TENANT}.${CT}.${dayOf(T0 - 1000)}.bin`,
      `delivered.${TENANT}.${CT}.json`,
    ]);
    const b = await open();
    assert.equal(b.existed, true);
    assert.equal(b.size, 2);
    assert.ok(b.has(id(1), T0 - 2 * DAY_MS));
    assert.ok(b.has(id(2), new Date(T0 - 1000).toISOString()));
    assert.ok(!b.has(id(3), T0 - 1000));
  });

  it('is compact: 8 bytes a blob on disk and in memory (20,000 blobs a day × 8 days = 1.3 MB)', async () => {
    const a = await open();
    const perDay = 20_000;
    for (let d = 0; d < 8; d++) for (let i = 0; i < perDay; i++) a.add(id(d * perDay + i), T0 - d * DAY_MS + (i % 3600) * 1000);
    assert.equal(a.size, 8 * perDay);
    assert.equal(a.idBytes, 8 * perDay * 8);
    await a.flush();
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.bin'))) assert.equal(fs.statSync(path.join(dir, f)).size, 16 + perDay * 8, f);
    const b = await open();
    assert.equal(b.size, 8 * perDay);
    for (let i = 0; i < perDay; i += 997) assert.ok(b.has(id(3 * perDay + i), T0 - 3 * DAY_MS + (i % 3600) * 1000));
    assert.ok(!b.has(id(9 * perDay), T0));
  });

  it('drops days past the 7-day retention (files too) and ignores blobs already past it', async () => {
    const a = await open();
    a.add(id(1), T0 - 6 * DAY_MS);
    a.add(id(2), T0);
    await a.flush();
    now = T0 + 2 * DAY_MS;
    a.add(id(3), T0 - 7 * DAY_MS); // can't be listed any more: not kept
    await a.flush();
    assert.ok(!a.has(id(1), T0 - 6 * DAY_MS));
    assert.ok(a.has(id(2), T0));
    assert.equal(fs.readdirSync(dir).filter((n) => n.endsWith('.bin')).length, 1);
    assert.equal((await open()).size, 1);
  });

  it('keeps the coverage start (set once) and the last sweep, which status reads without a lock', async () => {
    const a = await open();
    a.noteCoverageStart(T0 - DAY_MS);
    a.noteCoverageStart(T0 - 3 * DAY_MS);
    assert.equal(a.coverageStart, T0 - DAY_MS);
    const sweep: SweepRecord = {
      startedAt: new Date(T0).toISOString(),
      finishedAt: new Date(T0 + 5000).toISOString(),
      from: new Date(T0 - DAY_MS).toISOString(),
      to: new Date(T0).toISOString(),
      windows: 1,
      listed: 40,
      late: 30,
      failed: 0,
      complete: true,
      lateBlobs: Array.from({ length: 30 }, (_, i) => ({ contentId: id(i), contentCreated: new Date(T0 - DAY_MS).toISOString(), foundAt: new Date(T0).toISOString(), lateSeconds: 86400 })),
      lateTotal: 30,
    };
    a.setLastSweep(sweep);
    await a.flush();
    const read = await readLastSweep(dir, TENANT, CT);
    assert.equal(read?.late, 30);
    assert.equal(read?.lateBlobs.length, 20, 'the newest 20 are kept for status');
    assert.equal(read?.lateBlobs[19].contentId, id(29));
    assert.equal((await open()).coverageStart, T0 - DAY_MS);
    assert.equal(await readLastSweep(dir, TENANT, 'DLP.All'), undefined);
  });

  it('a corrupt file is STATE_CORRUPT with what to do, never a silent start over', async () => {
    const a = await open();
    a.add(id(1), T0);
    await a.flush();
    const bin = path.join(dir, `delivered.${TENANT}.${CT}.${dayOf(T0)}.bin`);
    fs.writeFileSync(bin, fs.readFileSync(bin).subarray(0, 20));
    await assert.rejects(open(), (e: BridgeError) => e.code === 'STATE_CORRUPT' && /delete it knowingly/.test(e.message));
    fs.rmSync(bin);
    fs.writeFileSync(path.join(dir, `delivered.${TENANT}.${CT}.json`), '{"version":1');
    await assert.rejects(open(), (e: BridgeError) => e.code === 'STATE_CORRUPT');
  });

  it('writes atomically through the checkpoint helper: no temp file is left, and a failed write keeps the data dirty', async () => {
    const a = await open();
    a.add(id(1), T0);
    const blocker = path.join(dir, `delivered.${TENANT}.${CT}.${dayOf(T0)}.bin`);
    fs.mkdirSync(blocker); // rename onto a directory fails
    await assert.rejects(a.flush(), (e: BridgeError) => e.code === 'STATE_UNWRITABLE');
    assert.deepEqual(fs.readdirSync(dir).filter((n) => n.includes('.tmp-')), []);
    fs.rmdirSync(blocker);
    await a.flush();
    assert.ok((await open()).has(id(1), T0));
  });

  it('blob keys are stable 64-bit values', () => {
    assert.equal(blobKey('a'), blobKey('a'));
    assert.notEqual(blobKey('a'), blobKey('b'));
    assert.equal(typeof blobKey('x'), 'bigint');
  });
});
