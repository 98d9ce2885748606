import { strict as assert } from 'node:assert';
import { buildMix, run } from '../../bench/validation';
import { createValidator } from '../../src/schema/validator';

describe('bench/validation', () => {
  it('builds distinct, valid records of the four Defender types', () => {
    const lines = buildMix(400);
    assert.equal(new Set(lines).size, 400);
    const v = createValidator({ mode: 'strict' });
    const types = new Set<number>();
    for (const l of lines) {
      const res = v.validate(JSON.parse(l));
      assert.deepEqual(res.errors, [], l.slice(0, 200));
      types.add(res.recordType!);
    }
    assert.deepEqual([...types].sort((a, b) => a - b), [28, 41, 47, 64]);
  });

  it('run() returns the figures the bench runner prints (no assertion on speed)', async () => {
    const log = console.log;
    console.log = () => undefined;
    try {
      const r = await run({ quick: true });
      for (const k of ['parse_records_per_s', 'parse_validate_records_per_s', 'ratio', 'records']) {
        assert.equal(typeof r[k], 'number', k);
        assert.ok(r[k] > 0, k);
      }
      assert.equal(r.invalid_records, 0);
    } finally {
      console.log = log;
    }
  });
});
