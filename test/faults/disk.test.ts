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
import { FS_PRELOAD, printTableAtEnd, Scenario } from '../support/faults-harness';

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

  it('disk full in the middle of a run: stops with a clear error; a restart re-sends at most the unsaved part', async () => {
    s = await Scenario.start('disk: full mid-run (ENOSPC)', { receiver: { ackDelayMs: 10 } });
    const r = await s.runToEnd({ NODE_OPTIONS: `--require ${FS_PRELOAD}`, FAULTS_FS_DIR: s.stateDir, FAULTS_FS_ERRNO: 'ENOSPC', FAULTS_FS_AFTER: '2' });
    const { code } = await r.exited;
    assert.equal(code, 1, r.out.slice(-2000));
    assert.match(r.out, /error STATE_UNWRITABLE: .*ENOSPC.*disk has space/);
    const sentBeforeRestart = s.rx.received;
    await recovers(s, `ENOSPC after 2 saves: exit 1 after ${sentBeforeRestart} sent`, 2 * 4 * 10 * 4);
  });
});
