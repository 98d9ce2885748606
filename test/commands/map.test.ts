/** `map`: prints the event run would deliver for each record (ECS by default), from a file or stdin. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { run } from '../../src/commands/map';
import * as R from '../shape/ecs/records';

async function map(argv: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(argv, { stdin: Readable.from([stdin]), out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

describe('map command', () => {
  const records = [R.threatMail(), R.urlClick(), R.aadLogon()];

  it('reads NDJSON from stdin and prints one ECS document per record', async () => {
    const r = await map(['-'], records.map((x) => JSON.stringify(x)).join('\n'));
    assert.equal(r.code, 0);
    const docs = r.out.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(docs.map((d) => d.event.code), ['ThreatIntelligence', 'ThreatIntelligenceUrl', 'AzureActiveDirectoryStsLogon']);
    assert.equal(docs[0].o365.bridge.content_type, 'Audit.General');
    assert.match(r.err, /3 record\(s\) mapped to ecs/);
  });

  it('reads a content blob (JSON array) from a file; --format raw prints the record with o365_bridge', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'map-'));
    const file = path.join(dir, 'blob.json');
    fs.writeFileSync(file, JSON.stringify(records));
    const r = await map([file, '--format', 'raw', '--content-type', 'Audit.AzureActiveDirectory', '--tenant', 'T1']);
    assert.equal(r.code, 0);
    const docs = r.out.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(docs.length, 3);
    assert.equal(docs[2].Operation, 'UserLoggedIn');
    assert.deepEqual([docs[2].o365_bridge.tenant, docs[2].o365_bridge.content_type], ['T1', 'Audit.AzureActiveDirectory']);
  });

  it('maps invalid records too (as run delivers them to the quarantine tag) and says so', async () => {
    const r = await map([], JSON.stringify({ ...R.threatMail(), CreationTime: 'yesterday' }));
    assert.equal(r.code, 0);
    assert.ok(JSON.parse(r.out).o365.bridge.errors.length > 0);
    assert.match(r.err, /1 invalid/);
  });

  it('exit 2 on input that is not JSON, naming the line; on a missing file; on bad options', async () => {
    const bad = await map(['-'], '{"a":1}\n{oops\n');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /INPUT_MALFORMED: .*line \d/);
    const missing = await map([path.join(os.tmpdir(), 'no-such-file-map.json')]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /no such file/);
    for (const argv of [['--format', 'xml'], ['--content-type', 'Audit.Nope'], ['a', 'b'], ['--bogus']]) {
      const r = await map(argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.err, /usage: o365-fluent-bridge map/);
    }
  });

  it('--help prints the usage', async () => {
    const r = await map(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.out, /usage: o365-fluent-bridge map/);
  });
});
