/**
 * API faults: the emulator's transport and data fault knobs, each against the real CLI.
 * Lost must be 0 except for content the API itself lost (expired before it was fetched).
 */
import { strict as assert } from 'node:assert';
import { printTableAtEnd, Scenario } from '../support/faults-harness';

printTableAtEnd();

describe('faults: the API', function () {
  let s: Scenario | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('baseline: a clean API delivers everything exactly once', async () => {
    s = await Scenario.start('baseline (no faults)');
    const r = await s.runToEnd();
    assert.equal((await r.exited).code, 0, r.out.slice(-2000));
    const a = s.account();
    assert.deepEqual(a.missing, []);
    assert.equal(a.row.duplicates, 0);
    assert.deepEqual(s.secretLeaks(), []);
  });
});
