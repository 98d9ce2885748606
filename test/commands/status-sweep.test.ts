import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runStatus } from '../../src/commands/status';
import { DeliveredBlobs } from '../../src/state/delivered-blobs';

const T1 = '11111111-1111-1111-1111-111111111111';
const NOW = new Date('2024-05-02T12:00:00.000Z');

describe('commands/status: the last reconciliation sweep', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'o365fb-status-sweep-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function run(json: boolean): Promise<string> {
    const out: string[] = [];
    const code = await runStatus(['--config', 'x.yaml', ...(json ? ['--json'] : [])], {
      loadConfig: async () => ({ stateDir: dir, tenants: [{ id: T1, name: 'contoso', contentTypes: ['Audit.General', 'Audit.Exchange'] }] }),
      listCheckpoints: async () => [],
      now: () => NOW,
      stdout: (s) => out.push(s),
      stderr: () => {},
    });
    assert.equal(code, 0);
    return out.join('');
  }

  it('shows when the last sweep ran, its range, what it found (content id, how late), in the table and in --json', async () => {
    const rec = await DeliveredBlobs.open(dir, T1, 'Audit.General', { now: () => NOW.getTime() });
    rec.setLastSweep({
      startedAt: '2024-05-02T11:00:00.000Z',
      finishedAt: '2024-05-02T11:00:09.000Z',
      from: '2024-04-25T11:15:00.000Z',
      to: '2024-05-02T10:55:00.000Z',
      windows: 7,
      listed: 1200,
      late: 1,
      failed: 0,
      complete: true,
      lateBlobs: [{ contentId: 'blob-late-1', contentCreated: '2024-04-30T08:00:00.000Z', foundAt: '2024-05-02T11:00:03.000Z', lateSeconds: 183603 }],
      lateTotal: 4,
    });
    await rec.flush();
    const text = await run(false);
    assert.match(text, /reconciliation sweeps/);
    assert.match(text, /contoso {2}Audit\.General {2}last 2024-05-02T11:00:00Z {2}2024-04-25T11:15:00Z \.\. 2024-05-02T10:55:00Z {2}listed 1200 {2}late 1 {2}\(all sweeps: 4\) {2}complete/);
    assert.match(text, /blob-late-1 {2}created 2024-04-30T08:00:00.000Z {2}found 2024-05-02T11:00:03Z {2}late /);
    const report = JSON.parse(await run(true));
    const general = report.entries.find((e: { contentType: string }) => e.contentType === 'Audit.General');
    assert.equal(general.lastSweep.lateBlobs[0].contentId, 'blob-late-1');
    assert.equal(report.entries.find((e: { contentType: string }) => e.contentType === 'Audit.Exchange').lastSweep, null);
  });

  it('says nothing about sweeps before the first one', async () => {
    assert.doesNotMatch(await run(false), /reconciliation/);
  });
});
