import { strict as assert } from 'node:assert';
import { createLogger, memoryLogger, registerSecret } from '../../src/obs/log';

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

  it('escapes control characters of any value on the terminal as JSON does: no forged line, no raw ESC', () => {
    const lines: string[] = [];
    const l = createLogger({ pretty: true, write: (x) => lines.push(x) });
    const hostile = 'abc\n12:00:00 ERROR  forged line\u001b[2J\u001b]0;title\u0007\u009b31m\u202e';
    l.warn('content lost at the source', { contentId: hostile, nested: { id: hostile }, [hostile]: 1 });
    assert.equal(lines.length, 1);
    const line = lines[0];
    assert.ok(!/[\u0000-\u001f\u007f-\u009f\u202e]/.test(line), `raw control characters: ${JSON.stringify(line)}`);
    assert.ok(line.includes('contentId=abc\\n12:00:00 ERROR  forged line\\u001b[2J'), line);
    const json: string[] = [];
    createLogger({ write: (x) => json.push(x) }).warn('x', { contentId: hostile });
    assert.ok(!/[\u0000-\u001f\u007f-\u009f\u202e]/.test(json[0]), json[0]);
    assert.equal((JSON.parse(json[0]) as { contentId: string }).contentId, hostile, 'the JSON line still carries the value exactly');
  });
});
