import { strict as assert } from 'node:assert';
import * as v8 from 'node:v8';
import { YOUNG_SEMI_SPACE_MIB, YoungGenGovernor, boundYoungGeneration } from '../../src/obs/young-gen';

const MiB = 1024 * 1024;

describe('obs/young-gen: the young generation stays at 4 MiB semi-spaces without operator flags', () => {
  it('lets the new space grow to the bound, stops growth there, and lets it grow back after a shrink', () => {
    const set: string[] = [];
    let bytes = 2 * MiB;
    const g = new YoungGenGovernor({ set: (f) => set.push(f), newSpaceBytes: () => bytes });
    g.tick();
    assert.deepEqual(set, [], 'below the bound: V8 grows as it likes');
    bytes = 2 * YOUNG_SEMI_SPACE_MIB * MiB;
    g.tick();
    g.tick();
    assert.deepEqual(set, ['--semi-space-growth-factor=1'], 'at the bound: no more growth, set once');
    assert.equal(g.stopped, true);
    bytes = 4 * MiB; // V8 shrank it while idle
    g.tick();
    assert.deepEqual(set, ['--semi-space-growth-factor=1', '--semi-space-growth-factor=2']);
    assert.equal(g.stopped, false);
  });

  it("an operator's semi-space flag, or O365FB_HEAP_TUNING=0, is left alone", () => {
    for (const [execArgv, env] of [
      [['--max-semi-space-size=16'], {}],
      [[], { NODE_OPTIONS: '--semi_space_growth_factor=4' }],
      [['--min-semi-space-size=2'], {}],
      [[], { O365FB_HEAP_TUNING: '0' }],
    ] as Array<[string[], NodeJS.ProcessEnv]>) {
      const set: string[] = [];
      assert.equal(boundYoungGeneration({ execArgv, env, set: (f) => set.push(f), newSpaceBytes: () => 64 * MiB }), null, JSON.stringify([execArgv, env]));
      assert.deepEqual(set, []);
    }
  });

  it('V8 accepts the flag at run time (it is read at each growth)', () => {
    const r = boundYoungGeneration({ execArgv: [], env: {}, newSpaceBytes: () => 64 * MiB, set: v8.setFlagsFromString });
    assert.ok(r);
    assert.equal(r.governor.stopped, true);
    r.stop();
    v8.setFlagsFromString('--semi-space-growth-factor=2'); // as it was, for the rest of the suite
  });
});
