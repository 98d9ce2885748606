import { strict as assert } from 'node:assert';
import { memoryLogger, registerSecret } from '../../src/obs/log';

describe('logger', () => {
  it('writes one JSON line per event with the bound fields', () => {
    const l = memoryLogger('info');
    l.child({ component: 'x', tenant: 't1' }).info('hello', { n: 3 });
    l.debug('hidden');
    assert.equal(l.lines.length, 1);
    const rec = JSON.parse(l.lines[0]);
    assert.equal(rec.msg, 'hello');
    assert.equal(rec.component, 'x');
    assert.equal(rec.tenant, 't1');
    assert.equal(rec.n, 3);
    assert.equal(rec.level, 'info');
  });

  it('never prints a registered secret, a bearer token or a JWT, even inside an error', () => {
    const l = memoryLogger();
    registerSecret('s3cr3t-value-123');
    registerSecret('token-abcdef-999', { ephemeral: true });
    const err = Object.assign(new Error('failed with s3cr3t-value-123'), { code: 'X' });
    l.error('oops', { err, header: 'Bearer abc.def.ghi', jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig', t: 'token-abcdef-999' });
    const line = l.lines[0];
    for (const bad of ['s3cr3t-value-123', 'abc.def.ghi', 'eyJhbGciOiJIUzI1NiJ9', 'token-abcdef-999']) assert.ok(!line.includes(bad), `${bad} leaked: ${line}`);
    assert.ok(line.includes('[REDACTED]'));
  });

  it('keeps the set of short-lived secrets bounded while keeping long-lived ones', () => {
    registerSecret('long-lived-secret-42');
    for (let i = 0; i < 2000; i++) registerSecret(`ephemeral-token-${i}`, { ephemeral: true });
    const l = memoryLogger();
    l.info('x', { a: 'long-lived-secret-42', b: 'ephemeral-token-1999' });
    assert.ok(!l.lines[0].includes('long-lived-secret-42'));
    assert.ok(!l.lines[0].includes('ephemeral-token-1999'));
  });
});
