import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadStatusConfig, runStatus, type StatusDeps } from '../../src/commands/status';
import { BridgeError } from '../../src/errors';
import { CheckpointStore, type Checkpoint } from '../../src/state/checkpoint';

const T1 = '11111111-1111-1111-1111-111111111111';
const T2 = '22222222-2222-2222-2222-222222222222';
const NOW = new Date('2024-05-02T12:00:00.000Z');

// Shaped like CheckpointStore.list() entries.
const CHECKPOINTS = [
  {
    tenantId: T1,
    contentType: 'Audit.General',
    cursor: '2024-05-02T10:00:00.000Z',
    doneAtCursor: ['c-9'],
    recent: [],
    lost: [{ contentId: 'blob-lost-1', contentCreated: '2024-04-25T09:00:00.000Z', code: 'CONTENT_EXPIRED', at: '2024-05-02T11:00:00.000Z' }],
    lastRun: { startedAt: '2024-05-02T11:55:00.000Z', updatedAt: '2024-05-02T11:58:30.250Z', blobs: 12, records: 3400, events: 3398, invalid: 1, duplicates: 2, lostBlobs: 1 },
    updatedAt: '2024-05-02T11:58:30.250Z',
  },
  {
    tenantId: T1,
    contentType: 'Audit.Exchange',
    cursor: null,
    doneAtCursor: [],
    recent: [],
    lost: [],
    updatedAt: '2024-05-02T11:00:00.000Z',
  },
  {
    tenantId: T2,
    contentType: 'DLP.All',
    cursor: '2024-05-01T12:00:00.000Z',
    doneAtCursor: [],
    recent: [],
    lost: [],
    updatedAt: '2024-05-01T13:00:00.000Z',
  },
];

function deps(over: Partial<StatusDeps> = {}): StatusDeps & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    loadConfig: async () => ({
      stateDir: '/var/lib/o365-fluent-bridge',
      tenants: [{ id: T1, name: 'contoso', contentTypes: ['Audit.General', 'Audit.Exchange', 'Audit.SharePoint'] }],
    }),
    listCheckpoints: async () => CHECKPOINTS as never,
    now: () => NOW,
    stdout: (s) => out.push(s),
    stderr: (s) => err.push(s),
    ...over,
  };
}

describe('commands/status (rendering)', () => {
  it('prints a table per tenant and content type with lag, last run and lost blobs', async () => {
    const d = deps();
    assert.equal(await runStatus(['--config', 'x.yaml'], d), 0);
    const text = d.out.join('');
    const lines = text.split('\n');
    assert.match(lines[0], /state directory: \/var\/lib\/o365-fluent-bridge/);
    const header = lines.find((l) => l.startsWith('TENANT'));
    assert.ok(header);
    assert.match(header, /CONTENT TYPE\s+CURSOR\s+LAG\s+LAST RUN\s+BLOBS\s+RECORDS\s+EVENTS\s+INVALID\s+DUPS\s+LOST/);
    const row = (s: string) => lines.find((l) => l.includes(s)) ?? '';
    assert.match(row('Audit.General'), /^contoso\s+Audit\.General\s+2024-05-02T10:00:00\.000Z\s+2h00m\s+2024-05-02T11:58:30Z\s+12\s+3400\s+3398\s+1\s+2\s+1$/);
    assert.match(row('Audit.Exchange'), /^contoso\s+Audit\.Exchange\s+none\s+-\s+-\s+-\s+-\s+-\s+-\s+-\s+0$/);
    assert.match(row('Audit.SharePoint'), /^contoso\s+Audit\.SharePoint\s+no checkpoint\s+-/);
    assert.match(row('DLP.All'), new RegExp(`^${T2} \\(not configured\\)\\s+DLP\\.All\\s+2024-05-01T12:00:00\\.000Z\\s+24h00m`));
    assert.match(text, /lost blobs \(expired or unreadable; their records were not delivered\): 1/);
    assert.match(row('blob-lost-1'), /contoso {2}Audit\.General {2}blob-lost-1 {2}created 2024-04-25T09:00:00\.000Z {2}CONTENT_EXPIRED/);
    assert.deepEqual(d.err, []);
  });

  it('lists lost time ranges (checkpoint gaps) in the table count, the text and --json (issue 12)', async () => {
    const gap = { from: '2024-04-24T10:00:00.000Z', to: '2024-04-25T12:15:00.000Z', code: 'CONTENT_EXPIRED', at: '2024-05-02T11:00:00.000Z' };
    const withGap = CHECKPOINTS.map((c, i) => (i === 0 ? { ...c, gaps: [gap] } : c));
    const d = deps({ listCheckpoints: async () => withGap as never });
    assert.equal(await runStatus(['--config', 'x.yaml'], d), 0);
    const text = d.out.join('');
    assert.match(text.split('\n').find((l) => l.includes('Audit.General')) ?? '', /\s2$/, 'LOST counts the blob and the range');
    assert.match(text, /lost time ranges \(the API no longer answered for them[^)]*\): 1/);
    assert.match(text, /contoso {2}Audit\.General {2}from 2024-04-24T10:00:00\.000Z {2}to 2024-04-25T12:15:00\.000Z {2}CONTENT_EXPIRED/);
    const j = deps({ listCheckpoints: async () => withGap as never });
    assert.equal(await runStatus(['--json', '--config', 'x.yaml'], j), 0);
    const r = JSON.parse(j.out.join(''));
    assert.deepEqual(r.entries[0].gaps, [gap]);
    assert.deepEqual(r.entries[1].gaps, []);
  });

  it('prints the same as JSON with --json', async () => {
    const d = deps();
    assert.equal(await runStatus(['--json', '--config=x.yaml'], d), 0);
    const r = JSON.parse(d.out.join(''));
    assert.equal(r.generatedAt, NOW.toISOString());
    assert.equal(r.stateDir, '/var/lib/o365-fluent-bridge');
    assert.deepEqual(
      r.entries.map((e: { tenantName: string; contentType: string; configured: boolean; lagSeconds: number | null }) => [e.tenantName, e.contentType, e.configured, e.lagSeconds]),
      [
        ['contoso', 'Audit.General', true, 7200],
        ['contoso', 'Audit.Exchange', true, null],
        ['contoso', 'Audit.SharePoint', true, null],
        [T2, 'DLP.All', false, 86400],
      ],
    );
    assert.equal(r.entries[0].lastRun.records, 3400);
    assert.equal(r.entries[0].lost[0].contentId, 'blob-lost-1');
    assert.equal(r.entries[2].hasCheckpoint, false);
    assert.equal(r.entries[2].lastRun, null);
  });

  it('exits 2 with usage on bad arguments, 0 with usage on --help', async () => {
    let d = deps();
    assert.equal(await runStatus([], d), 2);
    assert.match(d.err.join(''), /missing --config FILE\nusage:/);
    d = deps();
    assert.equal(await runStatus(['--config', 'x', '--bogus'], d), 2);
    assert.match(d.err.join(''), /unknown argument "--bogus"/);
    d = deps();
    assert.equal(await runStatus(['--help'], d), 0);
    assert.match(d.out.join(''), /^usage: o365-fluent-bridge status/);
  });

  it('exits 1 with the error code when the config or the state cannot be read', async () => {
    const d = deps({
      listCheckpoints: async () => {
        throw new BridgeError('STATE_CORRUPT', 'checkpoint file x is not valid JSON; restore it or delete it to start over');
      },
    });
    assert.equal(await runStatus(['--config', 'x.yaml'], d), 1);
    assert.match(d.err.join(''), /^error STATE_CORRUPT: checkpoint file x/);
    assert.deepEqual(d.out, []);
  });
});

describe('commands/status (config)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'status-cfg-'));
  });
  afterEach(async () => {
    await fs.promises.rm(dir, { recursive: true, force: true });
  });

  it('reads state dir and tenants without resolving secrets', async () => {
    const file = path.join(dir, 'config.yaml');
    await fs.promises.writeFile(
      file,
      [
        'tenants:',
        `  - id: ${T1}`,
        `    clientId: ${T2}`,
        '    clientSecret: { env: STATUS_TEST_SECRET_THAT_IS_NOT_SET }',
        '    contentTypes: [Audit.General]',
        'stateDir: ./state',
        '',
      ].join('\n'),
    );
    const cfg = await loadStatusConfig(file);
    assert.equal(cfg.stateDir, path.join(dir, 'state'));
    assert.deepEqual(cfg.tenants, [{ id: T1, name: T1, contentTypes: ['Audit.General'] }]);
  });

  it('exits 2 with the config problem when the config is unreadable or invalid', async () => {
    const err: string[] = [];
    assert.equal(await runStatus(['--config', path.join(dir, 'missing.yaml')], { stderr: (s) => err.push(s), stdout: () => assert.fail('no output expected') }), 2);
    assert.match(err.join(''), /^error CONFIG_UNREADABLE: .*missing\.yaml: cannot read the config file \(ENOENT\)/);
    const bad = path.join(dir, 'bad.yaml');
    await fs.promises.writeFile(bad, 'tenants: []\nbogus: 1\n');
    err.length = 0;
    assert.equal(await runStatus(['--config', bad], { stderr: (s) => err.push(s), stdout: () => assert.fail('no output expected') }), 2);
    assert.match(err.join(''), /^error CONFIG_INVALID: /);
  });
});

describe('commands/status (state directory)', () => {
  let dir: string;
  let writer: CheckpointStore | undefined;
  beforeEach(async () => {
    dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'status-state-'));
  });
  afterEach(async () => {
    await writer?.close();
    writer = undefined;
    await fs.promises.rm(dir, { recursive: true, force: true });
  });

  it('reports a real state directory while a writer holds its lock (table and --json)', async () => {
    const file = path.join(dir, 'config.yaml');
    await fs.promises.writeFile(
      file,
      [
        'tenants:',
        `  - id: ${T1}`,
        '    name: contoso',
        `    clientId: ${T2}`,
        '    clientSecret: { env: STATUS_TEST_SECRET_THAT_IS_NOT_SET }',
        '    contentTypes: [Audit.General, Audit.Exchange]',
        'stateDir: ./state',
        '',
      ].join('\n'),
    );
    writer = new CheckpointStore(path.join(dir, 'state'));
    await writer.init();
    await writer.save({ version: 1, ...CHECKPOINTS[0], recent: [['c-9', '2024-05-02T10:00:00.000Z']] } as Checkpoint);
    await assert.rejects(new CheckpointStore(path.join(dir, 'state')).init(), 'a second writer is refused: the lock is held');

    const out: string[] = [];
    const io = { stdout: (s: string) => out.push(s), stderr: (s: string) => assert.fail(s), now: () => NOW };
    assert.equal(await runStatus(['--config', file], io), 0);
    const text = out.join('');
    assert.match(text, new RegExp(`state directory: ${path.join(dir, 'state').replace(/[/.]/g, '\\$&')}`));
    assert.match(text, /\ncontoso\s+Audit\.General\s+2024-05-02T10:00:00\.000Z\s+2h00m\s+2024-05-02T11:58:30Z\s+12\s+3400\s+3398\s+1\s+2\s+1\n/);
    assert.match(text, /\ncontoso\s+Audit\.Exchange\s+no checkpoint\s+-/);
    assert.match(text, /blob-lost-1/);

    out.length = 0;
    assert.equal(await runStatus(['--config', file, '--json'], io), 0);
    const r = JSON.parse(out.join(''));
    assert.equal(r.entries.length, 2);
    assert.equal(r.entries[0].cursor, '2024-05-02T10:00:00.000Z');
    assert.equal(r.entries[0].lagSeconds, 7200);
    assert.deepEqual(r.entries[0].lastRun, CHECKPOINTS[0].lastRun);
    assert.equal(r.entries[1].hasCheckpoint, false);
  });

  it('reports "no checkpoint" for every pair when the state directory does not exist yet', async () => {
    const out: string[] = [];
    const code = await runStatus(['--config', 'x', '--json'], {
      loadConfig: async () => ({ stateDir: path.join(dir, 'nope'), tenants: [{ id: T1, contentTypes: ['DLP.All'] }] }),
      stdout: (s) => out.push(s),
      now: () => NOW,
    });
    assert.equal(code, 0);
    const r = JSON.parse(out.join(''));
    assert.deepEqual(
      r.entries.map((e: { tenantName: string; hasCheckpoint: boolean }) => [e.tenantName, e.hasCheckpoint]),
      [[T1, false]],
    );
  });
});
