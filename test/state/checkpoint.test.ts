import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { CheckpointStore, MAX_ID_CHARS, MAX_LOST, MAX_RECENT, writeFileAtomic, type Checkpoint } from '../../src/state/checkpoint';
import { isBridgeError } from '../../src/errors';

const TENANT = '11111111-1111-1111-1111-111111111111';

function cp(over: Partial<Checkpoint> = {}): Checkpoint {
  return {
    version: 1,
    tenantId: TENANT,
    contentType: 'Audit.General',
    cursor: '2024-03-01T10:00:00.000Z',
    doneAtCursor: ['blob-a', 'blob-b'],
    recent: [
      ['blob-a', '2024-03-01T10:00:00.000Z'],
      ['blob-b', '2024-03-01T10:00:00.000Z'],
    ],
    lost: [{ contentId: 'blob-x', contentCreated: '2024-02-20T00:00:00.000Z', code: 'CONTENT_EXPIRED', at: '2024-03-01T10:05:00.000Z' }],
    lastRun: { startedAt: '2024-03-01T10:00:00.000Z', updatedAt: '2024-03-01T10:05:00.000Z', blobs: 2, records: 10, events: 9, invalid: 1, duplicates: 1, lostBlobs: 1 },
    updatedAt: '2024-03-01T10:05:00.000Z',
    ...over,
  };
}

const rejectsWith = (code: string, fileHint?: string) => (e: unknown) => {
  assert.ok(isBridgeError(e), `expected a BridgeError, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  if (fileHint) assert.ok(e.message.includes(fileHint), `message should name ${fileHint}: ${e.message}`);
  return true;
};

describe('checkpoint store', () => {
  let root: string;
  const open: CheckpointStore[] = [];
  const make = (dir = path.join(root, 'state'), opts = {}) => {
    const s = new CheckpointStore(dir, opts);
    open.push(s);
    return s;
  };

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'bridge-state-'));
  });
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    fs.chmodSync(root, 0o700);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('round-trips a checkpoint and lists it', async () => {
    const store = make();
    await store.init();
    assert.equal(await store.load(TENANT, 'Audit.General'), null);
    const a = cp();
    const b = cp({ contentType: 'Audit.Exchange', cursor: null, doneAtCursor: [], recent: [], lost: [], lastRun: undefined });
    delete b.lastRun;
    await store.save(a);
    await store.save(b);
    assert.deepEqual(await store.load(TENANT, 'Audit.General'), a);
    assert.deepEqual(await store.load(TENANT, 'Audit.Exchange'), b);
    assert.deepEqual(await store.list(), [b, a]);
    // One file per (tenant, content type), nothing else but the lock.
    assert.deepEqual(fs.readdirSync(store.dir).sort(), ['.lock', `checkpoint.${TENANT}.Audit.Exchange.json`, `checkpoint.${TENANT}.Audit.General.json`]);
  });

  it('the last save of a file wins even when saves overlap', async () => {
    const store = make();
    await store.init();
    await Promise.all([1, 2, 3, 4, 5].map((n) => store.save(cp({ updatedAt: `2024-03-01T10:0${n}:00.000Z` }))));
    assert.equal((await store.load(TENANT, 'Audit.General'))?.updatedAt, '2024-03-01T10:05:00.000Z');
  });

  it('keeps only the newest 100 lost blobs on disk', async () => {
    const store = make();
    await store.init();
    const lost = Array.from({ length: 150 }, (_, i) => ({ contentId: `b${i}`, contentCreated: 'c', code: 'CONTENT_EXPIRED', at: 'a' }));
    const c = cp({ lost });
    await store.save(c);
    assert.equal(c.lost.length, 150, 'the caller object is not modified');
    const back = await store.load(TENANT, 'Audit.General');
    assert.equal(back?.lost.length, MAX_LOST);
    assert.equal(back?.lost[0].contentId, 'b50');
  });

  it('a crash before rename leaves the old state readable; stray temp files are ignored and cleaned', async () => {
    const dir = path.join(root, 'state');
    const first = make(dir);
    await first.init();
    await first.save(cp());
    await first.close();
    // A crash mid-write: a torn temp file beside the real one, and a stale lock of a dead process.
    const file = first.fileFor(TENANT, 'Audit.General');
    fs.writeFileSync(`${file}.tmp-99999-1`, '{"version":1,"tenantId":"111');
    fs.writeFileSync(path.join(dir, '.lock'), JSON.stringify({ pid: 99999, hostname: os.hostname(), nonce: 'dead', startedAt: 'x' }));

    const reader = make(dir);
    assert.deepEqual(await reader.list(), [cp()], 'list ignores temp files even before init');

    const second = make(dir, { isAlive: () => false });
    await second.init();
    assert.deepEqual(await second.load(TENANT, 'Audit.General'), cp());
    assert.ok(!fs.existsSync(`${file}.tmp-99999-1`), 'temp file cleaned on init');
  });

  it('a process killed (SIGKILL) in the middle of saving leaves a readable checkpoint and a lock that is taken over', async () => {
    const dir = path.join(root, 'state');
    const modulePath = path.join(__dirname, '..', '..', 'src', 'state', 'checkpoint.js');
    const script = `
      const { CheckpointStore } = require(${JSON.stringify(modulePath)});
      const s = new CheckpointStore(${JSON.stringify(dir)});
      (async () => {
        await s.init();
        for (let n = 0; ; n++) {
          const recent = Array.from({ length: 500 }, (_, i) => ['blob-' + n + '-' + i, '2024-03-01T10:00:00.000Z']);
          await s.save({ version: 1, tenantId: ${JSON.stringify(TENANT)}, contentType: 'Audit.General', cursor: new Date(Date.UTC(2024, 0, 1) + n * 1000).toISOString(),
            doneAtCursor: [], recent, lost: [], updatedAt: 'u' });
          if (n === 20) process.stdout.write('saving\\n');
        }
      })();`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const store = make(dir); // default liveness check: the killed child's pid is gone
    await store.init();
    const back = await store.load(TENANT, 'Audit.General');
    assert.ok(back && Date.parse(back.cursor!) >= Date.UTC(2024, 0, 1) + 20_000, 'a complete checkpoint survived');
    assert.equal(back.recent.length, 500);
    assert.deepEqual(fs.readdirSync(dir).filter((n) => n.includes('.tmp-')), []);
  });

  it('a corrupt file is STATE_CORRUPT naming the file, never a silent restart', async () => {
    const store = make();
    await store.init();
    const file = store.fileFor(TENANT, 'Audit.General');
    fs.writeFileSync(file, '{"version":1, "tenantId": ');
    await assert.rejects(store.load(TENANT, 'Audit.General'), rejectsWith('STATE_CORRUPT', file));
    await assert.rejects(store.list(), rejectsWith('STATE_CORRUPT', file));
    fs.writeFileSync(file, '');
    await assert.rejects(store.load(TENANT, 'Audit.General'), rejectsWith('STATE_CORRUPT', 'is empty'));
    fs.writeFileSync(file, JSON.stringify({ ...cp(), version: 2 }));
    await assert.rejects(store.load(TENANT, 'Audit.General'), rejectsWith('STATE_CORRUPT', 'unsupported version 2'));
    fs.writeFileSync(file, JSON.stringify({ ...cp(), recent: [['only-one']] }));
    await assert.rejects(store.load(TENANT, 'Audit.General'), rejectsWith('STATE_CORRUPT', 'recent'));
    fs.writeFileSync(file, JSON.stringify({ ...cp(), contentType: 'Audit.Exchange' }));
    await assert.rejects(store.load(TENANT, 'Audit.General'), rejectsWith('STATE_CORRUPT', 'belongs to'));
  });

  it('an unreadable file (a directory in its place) is STATE_CORRUPT', async () => {
    const store = make();
    await store.init();
    fs.mkdirSync(store.fileFor(TENANT, 'Audit.General'));
    await assert.rejects(store.load(TENANT, 'Audit.General'), rejectsWith('STATE_CORRUPT', 'cannot be read'));
  });

  it('a state dir under a file is STATE_UNWRITABLE', async () => {
    const blocker = path.join(root, 'a-file');
    fs.writeFileSync(blocker, 'x');
    const store = make(path.join(blocker, 'state'));
    await assert.rejects(store.init(), rejectsWith('STATE_UNWRITABLE', blocker));
  });

  it('a write that fails (state dir gone, a file in its place) is STATE_UNWRITABLE and leaves no temp file', async () => {
    const dir = path.join(root, 'state');
    const store = make(dir);
    await store.init();
    fs.rmSync(dir, { recursive: true });
    fs.writeFileSync(dir, 'not a dir');
    await assert.rejects(store.save(cp()), rejectsWith('STATE_UNWRITABLE', dir));
  });

  it('a read-only state dir is STATE_UNWRITABLE', async function () {
    if (process.getuid?.() === 0) this.skip(); // root ignores permission bits; the cases above cover the path
    const dir = path.join(root, 'ro');
    fs.mkdirSync(dir);
    fs.chmodSync(dir, 0o500);
    try {
      await assert.rejects(make(dir).init(), rejectsWith('STATE_UNWRITABLE', dir));
    } finally {
      fs.chmodSync(dir, 0o700);
    }
  });

  it('two stores cannot share a state dir; the lock is released on close', async () => {
    const dir = path.join(root, 'state');
    const a = make(dir);
    await a.init();
    const b = make(dir);
    await assert.rejects(b.init(), (e: unknown) => {
      assert.ok(isBridgeError(e, 'STATE_LOCKED'));
      assert.ok(e.message.includes(`process ${process.pid}`), e.message);
      return true;
    });
    await a.close();
    assert.ok(!fs.existsSync(path.join(dir, '.lock')));
    await b.init();
    await b.save(cp());
  });

  it('a lock held by a live process on this host is respected', async () => {
    const dir = path.join(root, 'state');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, '.lock'), JSON.stringify({ pid: 4242, hostname: os.hostname(), nonce: 'n', startedAt: 's' }));
    await assert.rejects(make(dir, { isAlive: (pid: number) => pid === 4242 }).init(), rejectsWith('STATE_LOCKED', 'process 4242'));
  });

  it('a lock from another host is never taken over', async () => {
    const dir = path.join(root, 'state');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, '.lock'), JSON.stringify({ pid: 4242, hostname: 'elsewhere', nonce: 'n', startedAt: 's' }));
    await assert.rejects(make(dir, { isAlive: () => false }).init(), rejectsWith('STATE_LOCKED', 'elsewhere'));
  });

  it('a stale lock of a dead pid is taken over (default liveness check)', async () => {
    const dir = path.join(root, 'state');
    fs.mkdirSync(dir);
    // Above Linux's pid_max (2^22): no such process.
    fs.writeFileSync(path.join(dir, '.lock'), JSON.stringify({ pid: 2 ** 30, hostname: os.hostname(), nonce: 'old', startedAt: 's' }));
    const store = make(dir);
    await store.init();
    const lock = JSON.parse(fs.readFileSync(path.join(dir, '.lock'), 'utf8'));
    assert.equal(lock.pid, process.pid);
    assert.deepEqual(fs.readdirSync(dir), ['.lock']);
  });

  it('PID reuse: a lock naming this very pid (not held by this process) is stale and taken over', async () => {
    const dir = path.join(root, 'state');
    fs.mkdirSync(dir);
    // A container's PID 1 after a crash: the new process has the old one's pid.
    fs.writeFileSync(path.join(dir, '.lock'), JSON.stringify({ pid: process.pid, hostname: os.hostname(), nonce: 'crashed', startedAt: 's' }));
    const store = make(dir);
    await store.init();
    const lock = JSON.parse(fs.readFileSync(path.join(dir, '.lock'), 'utf8'));
    assert.notEqual(lock.nonce, 'crashed');
    // ...while a second store of this process is still refused.
    await assert.rejects(make(dir).init(), rejectsWith('STATE_LOCKED', `process ${process.pid}`));
  });

  it("a live pid with another start time, or a lock from another boot, is stale; the same start time is respected", async () => {
    const dir = path.join(root, 'state');
    fs.mkdirSync(dir);
    const lockAt = (o: Record<string, unknown>) => fs.writeFileSync(path.join(dir, '.lock'), JSON.stringify({ pid: 4242, hostname: os.hostname(), nonce: 'n', startedAt: 's', ...o }));
    const opts = { isAlive: (pid: number) => pid === 4242, processStart: (pid: number) => (pid === 4242 ? 'T2' : 'T0'), bootId: () => 'boot-B' };
    lockAt({ procStart: 'T2', bootId: 'boot-B' });
    await assert.rejects(make(dir, opts).init(), rejectsWith('STATE_LOCKED', 'process 4242'));
    lockAt({ procStart: 'T1', bootId: 'boot-B' });
    const a = make(dir, opts);
    await a.init();
    await a.close();
    lockAt({ procStart: 'T2', bootId: 'boot-A' });
    const b = make(dir, opts);
    await b.init();
    const lock = JSON.parse(fs.readFileSync(path.join(dir, '.lock'), 'utf8'));
    assert.equal(lock.pid, process.pid);
    assert.equal(lock.procStart, 'T0', 'our start time is recorded');
    assert.equal(lock.bootId, 'boot-B');
  });

  it('an empty (or zero-filled) lock left by a power loss is stale and taken over', async () => {
    const dir = path.join(root, 'state');
    fs.mkdirSync(dir);
    for (const content of ['', '\0\0\0\0']) {
      fs.writeFileSync(path.join(dir, '.lock'), content);
      const store = make(dir);
      await store.init();
      assert.equal(JSON.parse(fs.readFileSync(path.join(dir, '.lock'), 'utf8')).pid, process.pid);
      await store.close();
    }
  });

  it('a cursor in the future, or not a date-time, is refused with an error naming the file', async () => {
    const now = Date.parse('2024-03-01T12:00:00.000Z');
    const store = make(path.join(root, 'state'), { now: () => now });
    await store.init();
    const file = store.fileFor(TENANT, 'Audit.General');
    fs.writeFileSync(file, JSON.stringify(cp({ cursor: '2099-01-01T00:00:00.000Z' })));
    await assert.rejects(store.load(TENANT, 'Audit.General'), rejectsWith('STATE_CORRUPT', file));
    await assert.rejects(store.load(TENANT, 'Audit.General'), rejectsWith('STATE_CORRUPT', 'cursor in the future'));
    fs.writeFileSync(file, JSON.stringify(cp({ cursor: 'yesterday' })));
    await assert.rejects(store.load(TENANT, 'Audit.General'), rejectsWith('STATE_CORRUPT', 'not a date-time'));
    fs.writeFileSync(file, JSON.stringify(cp({ cursor: '2024-03-01T12:05:00.000Z' })));
    assert.equal((await store.load(TENANT, 'Audit.General'))!.cursor, '2024-03-01T12:05:00.000Z', 'a few minutes ahead (clock skew) is fine');
  });

  it('bounded by construction: a huge recent list is cut to the newest on load and save; saving lets the event loop run', async () => {
    const store = make();
    await store.init();
    const file = store.fileFor(TENANT, 'Audit.General');
    const recent = Array.from({ length: MAX_RECENT + 5000 }, (_, i) => [`blob-${i}`, '2024-03-01T10:00:00.000Z'] as [string, string]);
    recent.push(['x'.repeat(MAX_ID_CHARS + 1), '2024-03-01T10:00:00.000Z']);
    fs.writeFileSync(file, JSON.stringify(cp({ recent })));
    const loaded = (await store.load(TENANT, 'Audit.General'))!;
    assert.equal(loaded.recent.length, MAX_RECENT);
    assert.equal(loaded.recent.at(-1)![0], `blob-${MAX_RECENT + 4999}`, 'the newest kept, the over-long id dropped');
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 0);
    try {
      await store.save(cp({ recent }));
    } finally {
      clearInterval(ticker);
    }
    assert.ok(ticks > 0, 'timers ran while the checkpoint was written');
    const back = JSON.parse(fs.readFileSync(file, 'utf8')) as Checkpoint;
    assert.equal(back.recent.length, MAX_RECENT);
    assert.deepEqual({ ...back, recent: [] }, { ...cp(), recent: [] });
  });

  it('lists and loads without a lock (for status) and treats a missing dir as empty', async () => {
    const reader = make(path.join(root, 'never-created'));
    assert.deepEqual(await reader.list(), []);
    assert.equal(await reader.load(TENANT, 'Audit.General'), null);
    await assert.rejects(reader.save(cp()), rejectsWith('INTERNAL'));
  });

  it('a read-only store takes no lock and refuses to save', async () => {
    const dir = path.join(root, 'state');
    const writer = make(dir);
    await writer.init();
    await writer.save(cp());
    const ro = make(dir, { readOnly: true });
    await ro.init();
    assert.deepEqual(await ro.list(), [cp()]);
    await assert.rejects(ro.save(cp()), rejectsWith('INTERNAL'));
  });

  it('escapes odd characters in ids so a file name never leaves the state dir', () => {
    const store = make();
    const f = store.fileFor('../../etc', 'a/b');
    assert.equal(path.dirname(f), store.dir);
  });
});

describe('writeFileAtomic with a body in slices', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'o365fb-wfa-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes the slices in order, small bodies and empty ones included', async () => {
    const f = path.join(dir, 'a.json');
    await writeFileAtomic(f, ['{"a":', '1', ',"b":[', ']}\n']);
    assert.equal(fs.readFileSync(f, 'utf8'), '{"a":1,"b":[]}\n');
    await writeFileAtomic(f, []);
    assert.equal(fs.readFileSync(f, 'utf8'), '');
    assert.deepEqual(fs.readdirSync(dir), ['a.json'], 'no temp file left');
  });

  it('lets the event loop run between the writes of a large body, and writes it whole', async () => {
    const f = path.join(dir, 'big.json');
    const slice = 'x'.repeat(64 * 1024);
    const pieces = Array.from({ length: 40 }, (_, i) => `${i}:${slice}\n`);
    let turns = 0;
    let running = true;
    const spin = () => {
      if (!running) return;
      turns++;
      setImmediate(spin);
    };
    setImmediate(spin);
    await writeFileAtomic(f, pieces);
    running = false;
    assert.equal(fs.readFileSync(f, 'utf8'), pieces.join(''));
    // 2.6 MB in writes of at least 256 KiB: several writes, the loop turning between them.
    assert.ok(turns >= 5, `event loop turns during the write: ${turns}`);
  });
});

