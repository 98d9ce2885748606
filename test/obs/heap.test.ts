import { strict as assert } from 'node:assert';
import { HEAP_GROWING_PERCENT, tuneHeap } from '../../src/obs/heap';

describe('obs/heap (issue 17: old generation kept near its live size)', () => {
  const run = (execArgv: string[], env: NodeJS.ProcessEnv) => {
    const set: string[] = [];
    const r = tuneHeap({ execArgv, env, set: (f) => set.push(f) });
    return { r, set };
  };

  it('sets --heap-growing-percent when the operator chose nothing', () => {
    const { r, set } = run([], {});
    assert.equal(r, `--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
    assert.deepEqual(set, [r]);
  });

  it("keeps the operator's own value, given on the command line or in NODE_OPTIONS, in either spelling", () => {
    assert.deepEqual(run(['--heap-growing-percent=20'], {}), { r: null, set: [] });
    assert.deepEqual(run([], { NODE_OPTIONS: '--max-old-space-size=512 --heap_growing_percent=300' }), { r: null, set: [] });
  });

  it('other flags do not stop it; O365FB_HEAP_TUNING=0 does', () => {
    assert.equal(run(['--max-semi-space-size=4'], { NODE_OPTIONS: '--enable-source-maps' }).set.length, 1);
    assert.deepEqual(run([], { O365FB_HEAP_TUNING: '0' }), { r: null, set: [] });
  });

  it('the flag is one V8 accepts at run time (no throw, process keeps working)', () => {
    // The real call, as `run` makes it: V8 ignores unknown flags silently, so check the name exists.
    const v8 = require('node:v8') as typeof import('node:v8');
    assert.doesNotThrow(() => tuneHeap({ execArgv: [], env: {}, set: v8.setFlagsFromString }));
    const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
    const out = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8' });
    assert.match(out, /--heap-growing-percent/);
  });
});
