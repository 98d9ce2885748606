import { strict as assert } from 'node:assert';
import { main } from '../../src/commands/check-config';
import { stage, type Staged } from './fixtures';

function io(env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), env } };
}

describe('check-config command', () => {
  const staged: Staged[] = [];
  after(() => staged.forEach((s) => s.remove()));
  const st = (name: string) => {
    const s = stage(name);
    staged.push(s);
    return s;
  };

  it('prints a summary and returns 0 for a good file', async () => {
    const s = st('valid-minimal.yaml');
    const r = io({ TEST_CLIENT_SECRET: 'Check-Config-Secret-1' });
    assert.equal(await main([s.file], r.io), 0);
    assert.deepEqual(r.err, []);
    assert.deepEqual(s.clean(r.out), ['ok: 1 tenant (11111111-1111-1111-1111-111111111111), sink forward 127.0.0.1:24224, state <dir>/state']);
    assert.ok(!r.out.join('').includes('Check-Config-Secret-1'));
  });

  it('accepts --config FILE', async () => {
    const s = st('valid-minimal.json');
    const r = io({ TEST_CLIENT_SECRET: 'x' });
    assert.equal(await main(['--config', s.file], r.io), 0);
  });

  it('prints every problem and returns 2', async () => {
    const s = st('unknown-key.yaml');
    const r = io();
    assert.equal(await main([s.file], r.io), 2);
    assert.deepEqual(r.out, []);
    assert.deepEqual(s.clean(r.err), [
      '<dir>/unknown-key.yaml: stateDirectory: unknown key (did you mean "stateDir"?)',
      '<dir>/unknown-key.yaml: tenants[0].contentType: unknown key (did you mean "contentTypes"?)',
      '<dir>/unknown-key.yaml: poll.intervall: unknown key (did you mean "intervalSeconds"?)',
      '3 problems (CONFIG_INVALID)',
    ]);
  });

  it('a missing secret is exit code 2 too', async () => {
    const s = st('missing-secret-env.yaml');
    const r = io();
    assert.equal(await main([s.file], r.io), 2);
    assert.equal(r.err[r.err.length - 1], '1 problem (SECRET_UNREADABLE)');
  });

  it('usage error without a file', async () => {
    const r = io();
    assert.equal(await main([], r.io), 2);
    assert.match(r.err[0], /^usage:/);
  });
});
