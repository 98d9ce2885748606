/**
 * The disk under the state directory: read-only from the start, and full in the middle of a run.
 * The run stops with a clear error (exit 1, STATE_UNWRITABLE) and sends nothing whose checkpoint it
 * cannot keep; once the disk is fine again, a restart delivers the rest without loss.
 * Tests run as root in CI, where chmod can't make a directory read-only: the fault is injected into
 * the child's fs module by a preload (test/support/faults-fs-preload.ts); the real chmod variant
 * runs too when the suite is not root.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { FS_PRELOAD, printTableAtEnd, Scenario, waitUntil } from '../support/faults-harness';

printTableAtEnd();

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

describe('faults: the disk', function () {
  let s: Scenario | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  async function recovers(sc: Scenario, note: string, maxDuplicates: number) {
    const r = await sc.runToEnd();
    assert.equal((await r.exited).code, 0, r.out.slice(-2000));
    const a = sc.account({ note, maxDuplicates });
    assert.deepEqual(a.missing, []);
    assert.ok(a.row.duplicates <= maxDuplicates, `duplicates ${a.row.duplicates} > ${maxDuplicates}`);
    assert.deepEqual(sc.secretLeaks(), []);
  }

  it('state dir read-only from the start: exits 1 with a clear error before sending anything', async () => {
    s = await Scenario.start('disk: state dir read-only');
    fs.mkdirSync(s.stateDir);
    const r = await s.runToEnd({ NODE_OPTIONS: `--require ${FS_PRELOAD}`, FAULTS_FS_DIR: s.stateDir, FAULTS_FS_ERRNO: 'EROFS' });
    const { code } = await r.exited;
    assert.equal(code, 1, r.out.slice(-2000));
    assert.match(r.out, /error STATE_UNWRITABLE: .*EROFS.*writable/);
    assert.equal(s.rx.received, 0, 'nothing sent');
    assert.equal(s.front.requests.blob, 0, 'nothing even fetched');
    await recovers(s, 'EROFS: exit 1, 0 sent; then recovered', 0);
  });

  (isRoot ? it.skip : it)('state dir read-only by permissions (non-root only)', async () => {
    s = await Scenario.start('disk: state dir chmod 555');
    fs.mkdirSync(s.stateDir);
    fs.chmodSync(s.stateDir, 0o555);
    const r = await s.runToEnd();
    assert.equal((await r.exited).code, 1, r.out.slice(-2000));
    assert.match(r.out, /error STATE_UNWRITABLE/);
    assert.equal(s.rx.received, 0);
    fs.chmodSync(s.stateDir, 0o755);
    await recovers(s, 'chmod 555: exit 1, 0 sent; then recovered', 0);
  });

  it('disk full from the start (no room even for the lock): exits 1 before sending anything', async () => {
    s = await Scenario.start('disk: full from the start (ENOSPC)');
    const r = await s.runToEnd({ NODE_OPTIONS: `--require ${FS_PRELOAD}`, FAULTS_FS_DIR: s.stateDir, FAULTS_FS_ERRNO: 'ENOSPC' });
    assert.equal((await r.exited).code, 1, r.out.slice(-2000));
    assert.match(r.out, /error STATE_UNWRITABLE: .*ENOSPC.*disk has space/);
    assert.equal(s.rx.received, 0, 'nothing sent');
    await recovers(s, 'ENOSPC: exit 1, 0 sent; then recovered', 0);
  });

  it('disk full in the middle of a run: stops at once with a clear error; a restart re-sends only the unsaved part', async () => {
    s = await Scenario.start('disk: full mid-run (ENOSPC)', { receiver: { ackDelayMs: 10 } });
    const r = s.spawn({ NODE_OPTIONS: `--require ${FS_PRELOAD}`, FAULTS_FS_DIR: s.stateDir, FAULTS_FS_ERRNO: 'ENOSPC', FAULTS_FS_AFTER: '2' });
    let atFault = -1;
    await waitUntil(() => r.out.includes('FAULTS_FS: first') || !r.running, 60_000, 'the injected fault');
    if (r.out.includes('FAULTS_FS: first')) atFault = s.rx.received;
    const { code } = await r.finish();
    assert.equal(code, 1, r.out.slice(-2000));
    assert.match(r.out, /error STATE_UNWRITABLE: .*ENOSPC.*disk has space/);
    assert.ok(atFault >= 0, 'the fault was injected while running');
    const sent = s.rx.received;
    // Once a save failed nothing new may go out: at most the blobs already being read (4 per content type, 10 records each).
    assert.ok(sent - atFault <= 2 * 4 * 10, `${sent - atFault} events sent after the failed save`);
    // A restart re-sends what was acknowledged after the last save that worked (saves are coalesced to one a second).
    await recovers(s, `exit 1 at once (+${sent - atFault} sent after); re-sent = acked since last save`, sent);
  });
});
