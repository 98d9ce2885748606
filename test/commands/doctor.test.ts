import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { doctorExitCode, FIXES, formatCheck, probeEvent, tokenRoles } from '../../src/commands/doctor';

/** code → "what to do" of the README's troubleshooting table, markdown (backticks, bold) removed. */
function readmeFixes(): Map<string, string> {
  const text = fs.readFileSync(path.resolve(__dirname, '../../../README.md'), 'utf8');
  const section = text.split('## Troubleshooting by error code')[1].split('\n## ')[0];
  const out = new Map<string, string>();
  for (const row of section.split('\n').filter((l) => l.startsWith('| `'))) {
    const cells = row.split(' | ');
    const what = cells[cells.length - 1].replace(/ \|$/, '').replace(/\*\*|`/g, '');
    for (const m of cells[0].matchAll(/`([A-Z_]+)`/g)) out.set(m[1], what);
  }
  return out;
}

describe('doctor (pure parts)', () => {
  it("every fix it prints is the README troubleshooting table's, word for word", () => {
    const table = readmeFixes();
    for (const [code, fix] of Object.entries(FIXES)) assert.equal(fix, table.get(code), `README row for ${code}`);
  });

  it('a ✖ line carries the code and message, then the fix and the specific hint', () => {
    assert.deepEqual(formatCheck({ ok: true, what: 'sink: TCP connection to h:1' }), ['✔ sink: TCP connection to h:1']);
    assert.deepEqual(formatCheck({ ok: false, what: 'tenant t: token', code: 'AUTH_FAILED', detail: 'refused', hint: 'look here' }), [
      '✖ tenant t: token: AUTH_FAILED: refused',
      `    fix: ${FIXES.AUTH_FAILED}`,
      '    also: look here',
    ]);
  });

  it('exit 0 only when every check passed; else the class of run --once, a tenant first', () => {
    assert.equal(doctorExitCode([{ ok: true, what: 'a' }]), 0);
    assert.equal(doctorExitCode([{ ok: false, what: 'a', code: 'API_THROTTLED', retryable: true }]), 5);
    assert.equal(doctorExitCode([{ ok: false, what: 'a', code: 'SINK_AUTH' }, { ok: false, what: 'b', code: 'API_THROTTLED' }]), 4);
    assert.equal(doctorExitCode([{ ok: false, what: 'a', code: 'SINK_AUTH' }, { ok: false, what: 'b', code: 'API_TENANT' }]), 3);
    assert.equal(doctorExitCode([{ ok: false, what: 'a', code: 'API_NETWORK', retryable: false }]), 3);
  });

  it('reads the roles of a JWT and nothing of an opaque token', () => {
    const jwt = (claims: object) => ['e30', Buffer.from(JSON.stringify(claims)).toString('base64url'), 'sig'].join('.');
    assert.deepEqual(tokenRoles(jwt({ roles: ['ActivityFeed.Read', 7] })), ['ActivityFeed.Read']);
    assert.deepEqual(tokenRoles(jwt({ aud: 'x' })), []);
    assert.equal(tokenRoles('opaque-token'), null);
    assert.equal(tokenRoles('a.!!!.c'), null);
  });

  it('the probe event goes to <tagPrefix>.bridge.probe with an exact time', () => {
    const e = probeEvent({ tagPrefix: 'acme.o365' }, 1_700_000_000_123);
    assert.equal(e.tag, 'acme.o365.bridge.probe');
    assert.deepEqual(e.time, { sec: 1_700_000_000, nsec: 123_000_000 });
    assert.match(String(e.record.message), /safe to drop/);
  });
});

describe('doctor (arguments)', () => {
  it('usage: 0 with --help, 2 without a config; a config that cannot be read is 2 with its problem', async () => {
    const { main } = await import('../../src/commands/doctor');
    const writes: string[] = [];
    const orig = process.stderr.write.bind(process.stderr);
    (process.stderr as { write: unknown }).write = (s: string) => (writes.push(String(s)), true);
    try {
      assert.equal(await main(['--help']), 0);
      assert.equal(await main([]), 2);
      assert.equal(await main(['--config', '/nonexistent/o365fb-doctor.yaml']), 2);
    } finally {
      (process.stderr as { write: unknown }).write = orig;
    }
    assert.match(writes.join(''), /usage: o365-fluent-bridge doctor --config FILE/);
    assert.match(writes.join(''), /cannot read the config file \(ENOENT\)/);
  });
});
