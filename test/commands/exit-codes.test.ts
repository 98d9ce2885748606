import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { classifyError, EXIT, formatVerdict, passVerdict, readinessWithTenants, type SummaryLike } from '../../src/commands/exit-codes';
import { readHealthFile, toHealthFile, writeHealthFile } from '../../src/commands/health-file';

const A = 'aaaaaaaa-0000-0000-0000-000000000001';
const B = 'bbbbbbbb-0000-0000-0000-000000000002';
const TENANTS = [
  { id: A, name: 'contoso', contentTypes: ['Audit.General', 'Audit.Exchange'] },
  { id: B, name: 'fabrikam', contentTypes: ['Audit.General'] },
];
const ok = (tenantId: string, contentType: string, failedBlobs = 0) => ({ tenantId, contentType, failedBlobs });
const err = (code: string, message = `${code} happened`, retryable = false) => ({ code, message, retryable });
const allOk = (): SummaryLike => ({ results: [ok(A, 'Audit.General'), ok(A, 'Audit.Exchange'), ok(B, 'Audit.General')], tenantErrors: [] });

describe('exit codes of run --once (pure verdict)', () => {
  it('0 only when every tenant and content type completed with nothing held back', () => {
    const v = passVerdict(allOk(), TENANTS);
    assert.equal(v.exitCode, EXIT.OK);
    assert.deepEqual(v.problems, []);
    assert.deepEqual(
      v.tenants.map((t) => [t.name, t.health]),
      [
        ['contoso', 'ok'],
        ['fabrikam', 'ok'],
      ],
    );
    assert.deepEqual(formatVerdict(v), []);
  });

  it('the numbers are distinct and keep 0, 1 and 2; the README table lists exactly them', () => {
    assert.deepEqual(EXIT, { OK: 0, INTERNAL: 1, CONFIG: 2, TENANT: 3, RECEIVER: 4, PARTIAL: 5 });
    const readme = fs.readFileSync(path.resolve(__dirname, '../../../README.md'), 'utf8');
    const table = readme.split('### Exit codes of `run --once`')[1].split('\n#')[0];
    const codes = [...table.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
    assert.deepEqual(codes, Object.values(EXIT));
  });

  it('3 and the tenant named when a tenant could not authenticate; the other tenant stays ok', () => {
    const s: SummaryLike = { results: [ok(B, 'Audit.General')], tenantErrors: [{ tenantId: A, error: err('AUTH_FAILED', 'token request failed: AADSTS7000215') }] };
    const v = passVerdict(s, TENANTS);
    assert.equal(v.exitCode, EXIT.TENANT);
    assert.equal(v.tenants[0].health, 'refused');
    assert.equal(v.tenants[0].code, 'AUTH_FAILED');
    assert.equal(v.tenants[1].health, 'ok');
    const lines = formatVerdict(v);
    assert.match(lines[0], new RegExp(`^run: tenant contoso \\(${A}\\): AUTH_FAILED: token request failed`));
    assert.match(lines.at(-1)!, /^run: exit 3: a tenant could not authenticate/);
  });

  it('3 when the API refuses a content type (AF10001 / tenant does not exist) or its subscription is off', () => {
    for (const code of ['API_FORBIDDEN', 'API_TENANT', 'API_UNAUTHORIZED', 'API_NOT_SUBSCRIBED', 'AUTH_UNAVAILABLE']) {
      const s = allOk();
      (s.results as unknown as Array<Record<string, unknown>>)[1] = { ...ok(A, 'Audit.Exchange'), error: err(code) };
      assert.equal(passVerdict(s, TENANTS).exitCode, EXIT.TENANT, code);
    }
    // No result at all for a configured content type: the bridge skipped it (subscription not enabled).
    const s: SummaryLike = { results: [ok(A, 'Audit.General'), ok(B, 'Audit.General')], tenantErrors: [] };
    const v = passVerdict(s, TENANTS);
    assert.equal(v.exitCode, EXIT.TENANT);
    assert.equal(v.problems[0].contentType, 'Audit.Exchange');
    assert.equal(v.problems[0].code, 'API_SUBSCRIPTION_DISABLED');
  });

  it('4 when the receiver was failing at the end of the pass', () => {
    const s: SummaryLike = { results: [ok(A, 'Audit.General', 3), ok(A, 'Audit.Exchange', 1), ok(B, 'Audit.General', 2)], tenantErrors: [], sinkError: err('SINK_UNREACHABLE', 'no connection') };
    const v = passVerdict(s, TENANTS);
    assert.equal(v.exitCode, EXIT.RECEIVER);
    assert.deepEqual(v.receiver, { code: 'SINK_UNREACHABLE', message: 'no connection' });
    assert.ok(v.tenants.every((t) => t.health === 'receiver'));
    assert.match(formatVerdict(v).at(-2)!, /^run: receiver: SINK_UNREACHABLE: no connection$/);
    // A content type that failed on a sink error is the receiver's too.
    const s2 = allOk();
    (s2.results as unknown as Array<Record<string, unknown>>)[0] = { ...ok(A, 'Audit.General'), error: err('SINK_EVENT_TOO_LARGE') };
    assert.equal(passVerdict(s2, TENANTS).exitCode, EXIT.RECEIVER);
  });

  it('5 when blobs failed and hold their checkpoint, or a transient error ended a content type', () => {
    const s: SummaryLike = { results: [ok(A, 'Audit.General', 2), ok(A, 'Audit.Exchange'), ok(B, 'Audit.General')], tenantErrors: [] };
    const v = passVerdict(s, TENANTS);
    assert.equal(v.exitCode, EXIT.PARTIAL);
    assert.equal(v.tenants[0].contentTypes[0].failedBlobs, 2);
    assert.match(v.problems[0].message, /2 blobs not delivered; the checkpoint waits/);
    for (const code of ['API_THROTTLED', 'API_SERVER', 'API_TIMEOUT', 'BLOB_MALFORMED', 'INTERNAL']) {
      const s2 = allOk();
      (s2.results as unknown as Array<Record<string, unknown>>)[2] = { ...ok(B, 'Audit.General'), error: err(code, 'x', true) };
      assert.equal(passVerdict(s2, TENANTS).exitCode, EXIT.PARTIAL, code);
    }
  });

  it('the one that needs a person wins: tenant over receiver over partial', () => {
    const s: SummaryLike = {
      results: [ok(A, 'Audit.General', 1), ok(A, 'Audit.Exchange')],
      tenantErrors: [{ tenantId: B, error: err('API_FORBIDDEN') }],
      sinkError: err('SINK_AUTH'),
    };
    const v = passVerdict(s, TENANTS);
    assert.equal(v.exitCode, EXIT.TENANT);
    assert.equal(v.problems.length, 3);
    assert.equal(passVerdict({ ...s, tenantErrors: [], results: [...s.results, ok(B, 'Audit.General')] }, TENANTS).exitCode, EXIT.RECEIVER);
  });

  it('a TLS verification failure (non-retryable network error) is a CA/proxy setting: 3', () => {
    assert.equal(classifyError({ code: 'API_NETWORK', retryable: false }), EXIT.TENANT);
    assert.equal(classifyError({ code: 'API_NETWORK', retryable: true }), EXIT.PARTIAL);
  });

  it('a pass stopped by a signal is partial, and what it did not reach is named as such', () => {
    const v = passVerdict(allOk(), TENANTS, { stopped: true });
    assert.equal(v.exitCode, EXIT.PARTIAL);
    const v2 = passVerdict({ results: [ok(A, 'Audit.General')], tenantErrors: [] }, TENANTS, { stopped: true });
    assert.equal(v2.exitCode, EXIT.PARTIAL);
    assert.ok(v2.problems.some((p) => p.code === 'STOPPED' && p.contentType === 'Audit.Exchange'));
  });
});

describe('readiness per tenant', () => {
  it('pending before the first pass; the bridge reasons stand', () => {
    const r = readinessWithTenants({ ready: false, reasons: ['tenant contoso: not authenticated yet'] }, undefined, TENANTS);
    assert.equal(r.ready, false);
    assert.deepEqual(r.reasons, ['tenant contoso: not authenticated yet']);
    assert.deepEqual(
      r.tenants.map((t) => t.health),
      ['pending', 'pending'],
    );
  });

  it('a refused tenant is not ready, with its code in place of "not authenticated yet"; a partial one stays ready', () => {
    const v = passVerdict({ results: [ok(B, 'Audit.General', 1)], tenantErrors: [{ tenantId: A, error: err('API_TENANT', 'tenant does not exist') }] }, TENANTS);
    const r = readinessWithTenants({ ready: false, reasons: ['tenant contoso: not authenticated yet'] }, v, TENANTS);
    assert.equal(r.ready, false);
    assert.deepEqual(r.reasons, ['tenant contoso: API_TENANT: tenant does not exist']);
    assert.deepEqual(
      r.tenants.map((t) => [t.name, t.health, t.code]),
      [
        ['contoso', 'refused', 'API_TENANT'],
        ['fabrikam', 'partial', 'BLOBS_FAILED'],
      ],
    );
    const v2 = passVerdict({ results: [ok(A, 'Audit.General'), ok(A, 'Audit.Exchange'), ok(B, 'Audit.General', 1)], tenantErrors: [] }, TENANTS);
    assert.equal(readinessWithTenants({ ready: true, reasons: [] }, v2, TENANTS).ready, true);
  });
});

describe('health.json', () => {
  it('round-trips, and reads as null when absent or garbled', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'o365fb-health-'));
    try {
      assert.equal(await readHealthFile(dir), null);
      const v = passVerdict({ results: [], tenantErrors: [{ tenantId: A, error: err('AUTH_FAILED') }] }, TENANTS.slice(0, 1));
      await writeHealthFile(dir, toHealthFile(v, '2026-01-01T00:00:00.000Z'));
      const h = await readHealthFile(dir);
      assert.equal(h?.exitCode, EXIT.TENANT);
      assert.equal(h?.tenants[0].code, 'AUTH_FAILED');
      assert.deepEqual(fs.readdirSync(dir), ['health.json']);
      fs.writeFileSync(path.join(dir, 'health.json'), '{not json');
      assert.equal(await readHealthFile(dir), null);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
