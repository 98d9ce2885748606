import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { WEB_GLOBALS, withoutWebGlobals } from '../../src/net/axios-quiet';

/**
 * In a fresh process (this one has loaded undici long ago): the bridge's modules load without
 * undici, the web streams or worker messaging; requests through the HTTP stack work; and the globals
 * are exactly Node's own again (fetch loads undici when called, as before).
 */
const SCRIPT = `
const http = require('node:http');
// The large ones (other code loads a few small web-stream helpers; they are not axios').
const heavy = () => process.moduleLoadList.filter((m) => /undici|webstreams\\/(readable|writable|transform)stream|worker_threads|internal\\/worker\\/io/.test(m));
const names = JSON.parse(process.argv[3]);
const descriptors = () => names.map((n) => Object.getOwnPropertyDescriptor(globalThis, n));
const before = descriptors();
require(process.argv[2]);
const { createHttpStack } = require(process.argv[1]);
const same = (a, b) => a === b || (a !== undefined && b !== undefined && a.get === b.get && a.set === b.set && a.value === b.value && a.writable === b.writable && a.enumerable === b.enumerable && a.configurable === b.configurable);
const out = { afterLoad: heavy(), restored: descriptors().map((d, i) => same(d, before[i])) };
const server = http.createServer((req, res) => res.end(JSON.stringify({ method: req.method })));
server.listen(0, '127.0.0.1', async () => {
  const url = 'http://127.0.0.1:' + server.address().port + '/x';
  const stack = createHttpStack({ env: {} });
  try {
    out.axios = (await stack.axios.get(url)).data;
    out.afterAxios = heavy();
    out.fetch = await (await fetch(url)).json();
    out.afterFetch = heavy().some((m) => /undici/.test(m));
  } catch (e) {
    out.error = String((e && e.stack) || e);
  } finally {
    stack.close();
    server.close();
    process.stdout.write(JSON.stringify(out));
  }
});
`;

describe('net/axios-quiet (issue 17: axios loads without Node\'s fetch machinery)', () => {
  it('the bridge loads without undici or the web streams, axios requests work, and the globals are Node\'s own again (fetch works)', () => {
    const out = JSON.parse(
      execFileSync(process.execPath, ['-e', SCRIPT, require.resolve('../../src/net/http'), require.resolve('../../src/bridge'), JSON.stringify(WEB_GLOBALS)], { encoding: 'utf8' }),
    ) as Record<string, unknown>;
    assert.equal(out.error, undefined, String(out.error));
    assert.deepEqual(out.afterLoad, []);
    assert.deepEqual(out.restored, WEB_GLOBALS.map(() => true), 'every global is again exactly what Node defined');
    assert.deepEqual(out.axios, { method: 'GET' });
    assert.deepEqual(out.afterAxios, []);
    assert.deepEqual(out.fetch, { method: 'GET' });
    assert.equal(out.afterFetch, true);
  });

  it('withoutWebGlobals hides the globals during the load and restores each as it was, also when the load throws', () => {
    const g = globalThis as Record<string, unknown>;
    const before = WEB_GLOBALS.map((n) => Object.getOwnPropertyDescriptor(g, n));
    const seen = withoutWebGlobals(() => WEB_GLOBALS.map((n) => typeof g[n]));
    assert.ok(seen.every((t) => t === 'undefined'), seen.join());
    assert.throws(() => withoutWebGlobals(() => {
      throw new Error('load failed');
    }), /load failed/);
    assert.deepEqual(WEB_GLOBALS.map((n) => Object.getOwnPropertyDescriptor(g, n)), before);
    assert.equal(typeof fetch, 'function');
  });
});
