import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { spawnSync } from 'node:child_process';
import { run } from '../../src/commands/validate';
import { FIXTURES, sampleBlob, type Rec } from './helpers';

interface Captured {
  code: number;
  out: string;
  err: string;
}

async function validate(argv: string[], stdin: string | Buffer[] = ''): Promise<Captured> {
  let out = '';
  let err = '';
  const code = await run(argv, {
    stdin: Readable.from(typeof stdin === 'string' ? [Buffer.from(stdin)] : stdin),
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
  });
  return { code, out, err };
}

const SAMPLE = path.join(FIXTURES, 'sample-blob.json');

describe('commands/validate', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'o365fb-validate-'));
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const write = (name: string, text: string): string => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    return p;
  };
  const ndjson = (recs: unknown[]): string => recs.map((r) => JSON.stringify(r)).join('\n') + '\n';

  it('a file holding a JSON array of valid records: exit 0 and a summary per RecordType', async () => {
    const r = await validate([SAMPLE]);
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(r.out, /invalid:/);
    assert.match(r.out, /^28 ThreatIntelligence\s+2\s+2\s+0\s+0$/m);
    assert.match(r.out, /^64 AirInvestigation\s+2\s+2\s+0\s+0$/m);
    assert.match(r.out, /^total\s+12\s+12\s+0\s+0$/m);
  });

  it('NDJSON with an invalid record: exit 1, one line naming its Id, RecordType and errors', async () => {
    const recs = sampleBlob();
    delete (recs[4] as Rec).FileData.SHA256;
    const file = write('one-bad.ndjson', ndjson(recs));
    const r = await validate([file]);
    assert.equal(r.code, 1);
    const lines = r.out.split('\n').filter((l) => l.startsWith('invalid:'));
    assert.equal(lines.length, 1);
    assert.match(lines[0], /record 4 \(line 5\)/);
    assert.match(lines[0], /Id="f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5c"/);
    assert.match(lines[0], /RecordType 47 \(ThreatIntelligenceAtpContent\)/);
    assert.match(lines[0], /\/FileData\/SHA256 is required \[required\]/);
    assert.match(r.out, /^47 ThreatIntelligenceAtpContent\s+2\s+1\s+1\s+0$/m);
  });

  it('reads stdin when FILE is "-" or absent, array or NDJSON alike', async () => {
    const text = fs.readFileSync(SAMPLE, 'utf8');
    assert.equal((await validate(['-'], text)).code, 0);
    const asLines = ndjson(sampleBlob());
    // Split the input at awkward places: records straddle chunks.
    const chunks = [Buffer.from(asLines.slice(0, 7)), Buffer.from(asLines.slice(7, 1500)), Buffer.from(asLines.slice(1500))];
    const r = await validate([], chunks);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^total\s+12\s+12\s+0\s+0$/m);
  });

  it('--json prints one parseable document with counts and the invalid records', async () => {
    const recs = sampleBlob();
    (recs[2] as Rec).UserIp = 'nope';
    const r = await validate(['--json', '-'], JSON.stringify(recs));
    assert.equal(r.code, 1);
    const doc = JSON.parse(r.out) as Rec;
    assert.equal(doc.exitCode, 1);
    assert.deepEqual(doc.total, { checked: 12, valid: 11, invalid: 1, warnings: 0 });
    const t41 = (doc.byRecordType as Rec[]).find((x) => x.recordType === 41)!;
    assert.deepEqual(t41, { recordType: 41, name: 'ThreatIntelligenceUrl', checked: 2, valid: 1, invalid: 1, warnings: 0 });
    assert.equal(doc.invalid.length, 1);
    assert.equal(doc.invalid[0].index, 2);
    assert.equal(doc.invalid[0].id, 'c7d8e9f0-a1b2-4c3d-9e4f-5a6b7c8d9e0f');
    assert.deepEqual(doc.invalid[0].errors, [{ path: '/UserIp', message: 'must be a valid ip-address', keyword: 'format' }]);
  });

  it('--strict turns an undocumented enum value into an invalid record', async () => {
    const recs = sampleBlob();
    (recs[0] as Rec).DetectionType = 'Later';
    const text = ndjson(recs);
    const lenient = await validate(['-'], text);
    assert.equal(lenient.code, 0);
    assert.match(lenient.out, /^warning: record 0 .*\/DetectionType "Later" is not a documented value/m);
    assert.match(lenient.out, /^28 ThreatIntelligence\s+2\s+2\s+0\s+1$/m);
    const strictRun = await validate(['--strict', '-'], text);
    assert.equal(strictRun.code, 1);
    assert.match(strictRun.out, /^invalid: record 0 .*\/DetectionType .*\[x-docEnum\]/m);
  });

  it('structurally broken input: exit 2, naming the file, byte offset and line', async () => {
    const file = write('broken.json', '[\n{"Id": "a"},\n{"Id": "b"} {"Id": "c"}\n]');
    const r = await validate([file]);
    assert.equal(r.code, 2);
    assert.ok(r.err.includes(file), r.err);
    assert.match(r.err, /INPUT_MALFORMED/);
    assert.match(r.err, /at byte 27 \(line 3\)/);
    const j = await validate(['--json', file]);
    assert.equal(j.code, 2);
    const doc = JSON.parse(j.out) as Rec;
    assert.equal(doc.error.code, 'INPUT_MALFORMED');
    assert.equal(doc.error.offset, 27);
    assert.equal(doc.error.line, 3);
  });

  it('a truncated array is unreadable input (exit 2)', async () => {
    const text = fs.readFileSync(SAMPLE, 'utf8');
    const r = await validate(['-'], text.slice(0, text.length - 200));
    assert.equal(r.code, 2);
    assert.match(r.err, /stdin: .*truncated/);
  });

  it('an NDJSON line that is not JSON: exit 2, reported with its line, the rest still checked', async () => {
    const recs = sampleBlob().slice(0, 3).map((x) => JSON.stringify(x));
    const file = write('bad-line.ndjson', [recs[0], '{"Id": nope}', recs[1], recs[2]].join('\n') + '\n');
    const r = await validate([file]);
    assert.equal(r.code, 2);
    assert.match(r.err, /record 1 at byte \d+ \(line 2\) could not be read/);
    assert.match(r.out, /^total\s+3\s+3\s+0\s+0$/m);
  });

  it('a missing file: exit 2 with a message naming it', async () => {
    const missing = path.join(dir, 'does-not-exist.json');
    const r = await validate([missing]);
    assert.equal(r.code, 2);
    assert.match(r.err, /INPUT_UNREADABLE/);
    assert.ok(r.err.includes(missing));
    assert.match(r.err, /ENOENT/);
  });

  it('empty input is zero records, exit 0; bad options exit 2', async () => {
    const r = await validate(['-'], '  \n');
    assert.equal(r.code, 0);
    assert.match(r.out, /^total\s+0\s+0\s+0\s+0$/m);
    assert.equal((await validate(['--nope'])).code, 2);
    assert.equal((await validate(['a.json', 'b.json'])).code, 2);
    const help = await validate(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.out, /usage: o365-fluent-bridge validate/);
  });

  it('a hostile Id cannot inject control characters into the output', async () => {
    const rec = { ...sampleBlob()[0], Id: '\u001b[2J\u001b[31mEVIL', Policy: false };
    const r = await validate(['-'], JSON.stringify([rec]));
    assert.equal(r.code, 1);
    assert.ok(!r.out.includes('\u001b'), 'no raw escape characters');
    assert.match(r.out, /Id="\\u001b\[2J/);
  });

  it('summary rows stay bounded when every record claims a different RecordType', async () => {
    const base = sampleBlob()[8] as Rec;
    const text = Array.from({ length: 1500 }, (_, i) => JSON.stringify({ ...base, RecordType: 100_000 + i })).join('\n');
    const r = await validate(['--json', '-'], text);
    assert.equal(r.code, 0);
    const doc = JSON.parse(r.out) as Rec;
    assert.equal(doc.total.checked, 1500);
    assert.ok(doc.byRecordType.length <= 1001);
    const other = (doc.byRecordType as Rec[]).find((x) => x.recordType === 'other')!;
    assert.equal(other.checked, 500);
  });

  it('runs through the CLI dispatcher with the documented exit codes', () => {
    const cli = path.join(__dirname, '..', '..', 'src', 'cli.js');
    const ok = spawnSync(process.execPath, [cli, 'validate', SAMPLE], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    const recs = sampleBlob();
    (recs[1] as Rec).MessageTime = 'soon';
    const bad = spawnSync(process.execPath, [cli, 'validate', '-', '--json'], { input: JSON.stringify(recs), encoding: 'utf8' });
    assert.equal(bad.status, 1, bad.stderr);
    assert.equal((JSON.parse(bad.stdout) as Rec).total.invalid, 1);
  });
});
