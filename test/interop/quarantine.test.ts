/**
 * fluent.conf.forward.example itself, running in real Fluentd (its Elasticsearch and Splunk HEC outputs swapped
 * for files, as there is neither here; its paths moved to a temp dir): quarantined records land in the
 * quarantine files, one per tag and UTC hour; the Defender types reach both "Elasticsearch" and
 * "Splunk"; everything else reaches "Splunk" only.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../../src/paths';
import { collect, expectedTime, startRig, type Rig } from './support/bridge';
import { FLUENTD_VERSIONS, requireReceivers } from './support/receivers';

/** ThreatIntelligence, ThreatIntelligenceUrl, ThreatIntelligenceAtpContent, AirInvestigation. */
const DEFENDER_TYPES = [28, 41, 47, 64];

/** The example, runnable here: same routing, same quarantine block, outputs we can read. */
export function runnableExample(): string {
  return fs
    .readFileSync(path.join(packageRoot, 'fluent.conf.forward.example'), 'utf8')
    .replace(/^(\s*)port 24224$/m, '$1port {{PORT}}')
    .replace(/^(\s*)bind 0\.0\.0\.0$/m, '$1bind 127.0.0.1')
    .replace(/\/var\/log\/fluent/g, '{{DIR}}')
    .replace(/^(\s*)@type elasticsearch$/m, '$1@type file\n$1path {{DIR}}/elasticsearch/all')
    .replace(/^(\s*)@type splunk_hec$/m, '$1@type file\n$1path {{DIR}}/splunk/all');
}

function lines(dir: string): Array<{ file: string; record: Record<string, any> }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const out: Array<{ file: string; record: Record<string, any> }> = []; // eslint-disable-line @typescript-eslint/no-explicit-any
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      // JSON lines, or out_file's default `time<TAB>tag<TAB>json` where the example sets no <format>.
      else for (const l of fs.readFileSync(p, 'utf8').split('\n')) if (l) out.push({ file: p, record: JSON.parse(l.startsWith('{') ? l : l.split('\t').slice(2).join('\t')) });
    }
  };
  walk(dir);
  return out;
}

describe('interop: fluent.conf.forward.example routes the bridge’s events', function () {
  this.timeout(180_000);
  before(function () {
    requireReceivers(this);
  });
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  for (const version of FLUENTD_VERSIONS) {
    it(`Fluentd ${version}: quarantine to files per tag and UTC hour, Defender to Elasticsearch and Splunk, the rest to Splunk`, async () => {
      rig = await startRig(`interop: example routing, Fluentd ${version}`, {
        kind: 'fluentd',
        version,
        mode: 'plain',
        config: runnableExample(),
        scenario: { contentTypes: ['Audit.General', 'Audit.Exchange'], emulator: { historyHours: 2, faults: { invalidRecordRate: 0.1 } } },
      });
      const run = await rig.s.runToEnd();
      assert.equal((await run.exited).code, 0, run.out.slice(-3000));
      await collect(rig);
      const q = lines(path.join(rig.rr.dir, 'o365-quarantine'));
      const es = lines(path.join(rig.rr.dir, 'elasticsearch'));
      const splunk = lines(path.join(rig.rr.dir, 'splunk'));
      // Which Ids the emulator served as invalid, and as valid, up to the saved cursors.
      const invalid = new Set<string>();
      const valid = new Set<string>();
      for (const ct of rig.s.contentTypes) {
        const cp = rig.s.checkpoint(ct);
        assert.ok(cp?.cursor, `${ct}: no cursor`);
        const ids = rig.s.emu.ledger.recordIds(rig.s.tenantId, rig.s.startedAt - 4 * 3_600_000, Date.parse(cp.cursor), { contentType: ct, asOf: Date.parse(cp.cursor) });
        for (const id of ids.invalid) invalid.add(id);
        for (const id of ids.valid) valid.add(id);
      }
      assert.ok(invalid.size > 0 && valid.size > 0);
      assert.deepEqual(new Set(q.map((l) => l.record.Id)), invalid, 'the quarantine holds exactly the invalid records');
      assert.equal(q.length, invalid.size, 'each once');
      for (const { file, record } of q) {
        const rel = path.relative(path.join(rig.rr.dir, 'o365-quarantine'), file);
        const m = /^(o365\.invalid\.[a-z0-9_.]+)\/(\d{10})\.log$/.exec(rel);
        assert.ok(m, `quarantine file ${rel} is not <tag>/<YYYYMMDDHH>.log`);
        assert.ok(record.o365_bridge?.errors?.length > 0, 'the reasons travel with the record');
        const t = expectedTime(record.CreationTime);
        if (t) assert.equal(m[2], new Date(t.sec * 1000).toISOString().slice(0, 13).replace(/[-T]/g, ''), `${rel}: hour of CreationTime (UTC)`);
      }
      const inEs = new Set(es.map((l) => l.record.Id));
      const inSplunk = new Set(splunk.map((l) => l.record.Id));
      for (const id of invalid) assert.ok(!inEs.has(id) && !inSplunk.has(id), `quarantined ${id} also went downstream`);
      assert.equal(splunk.length, valid.size, 'every valid record reaches Splunk once');
      assert.deepEqual(inSplunk, valid);
      const defender = splunk.filter((l) => l.record.o365_bridge.content_type === 'Audit.General' && DEFENDER_TYPES.includes(l.record.RecordType));
      assert.ok(defender.length > 0, 'the data set has Defender records');
      assert.deepEqual(inEs, new Set(defender.map((l) => l.record.Id)), 'Elasticsearch gets the Defender types, and only them');
    });
  }
});
