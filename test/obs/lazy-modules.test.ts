import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

/**
 * issue 17: what `run` loads before it knows it needs it is resident for the life of the service.
 * Checked in a fresh process (this one has loaded everything already).
 */
function loadedAfter(modules: string[]): string[] {
  const dist = path.resolve(__dirname, '../../src');
  const script = `${modules.map((m) => `require(${JSON.stringify(path.join(dist, m))});`).join('')}
    const seen = new Set();
    for (const k of Object.keys(require.cache)) { const m = /node_modules[\\\\/]((?:@[^\\\\/]+[\\\\/])?[^\\\\/]+)/.exec(k); if (m) seen.add(m[1].replace(/\\\\/g, '/')); }
    process.stdout.write(JSON.stringify([...seen]));`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as string[];
}

describe('lazy modules (issue 17: RSS before the first record)', () => {
  it('the run command and the bridge do not load prom-client until metrics are created', () => {
    const mods = loadedAfter(['commands/run', 'bridge', 'obs/metrics']);
    assert.ok(mods.includes('@msgpack/msgpack'), `sanity: the bridge's own dependencies are listed (${mods.join(', ')})`);
    assert.ok(!mods.includes('prom-client'), 'prom-client loaded at import');
  });

  it('createMetrics loads it and works', () => {
    const mods = loadedAfter(['obs/metrics']);
    assert.ok(!mods.includes('prom-client'));
    const dist = path.resolve(__dirname, '../../src/obs/metrics');
    const out = execFileSync(process.execPath, ['-e', `const m = require(${JSON.stringify(dist)}).createMetrics({ processMetrics: false }); m.eventsAcked(3); m.text().then((t) => process.stdout.write(t));`], { encoding: 'utf8' });
    assert.match(out, /o365_bridge_events_acked_total 3/);
  });
});
