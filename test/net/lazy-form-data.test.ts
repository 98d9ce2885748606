import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';

/**
 * In a fresh process (this one's module cache has axios and form-data loaded already by other tests):
 * our requests through the HTTP stack, then a multipart one.
 */
const SCRIPT = `
const http = require('node:http');
const loaded = (re) => Object.keys(require.cache).some((k) => re.test(k));
const { createHttpStack } = require(process.argv[1]);
const lazy = require(process.argv[2]);
const out = { afterLoad: { mimeDb: loaded(/mime-db/), getIntrinsic: loaded(/get-intrinsic/), real: lazy.realFormDataLoaded() } };
const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, type: req.headers['content-type'] || null, body }));
  });
});
server.listen(0, '127.0.0.1', async () => {
  const url = 'http://127.0.0.1:' + server.address().port + '/x';
  const stack = createHttpStack({ env: {} });
  try {
    const get = await stack.axios.get(url);
    const form = await stack.axios.post(url, 'grant_type=client_credentials&scope=x', { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const json = await stack.axios.post(url, { a: 1 });
    out.ours = { get: get.data, form: form.data, json: json.data, real: lazy.realFormDataLoaded(), mimeDb: loaded(/mime-db/) };
    const multi = await stack.axios.post(url, { field: 'value' }, { headers: { 'content-type': 'multipart/form-data' } });
    out.multipart = { type: multi.data.type, body: multi.data.body, real: lazy.realFormDataLoaded(), mimeDb: loaded(/mime-db/) };
  } catch (e) {
    out.error = String(e && e.stack || e);
  } finally {
    stack.close();
    server.close();
    process.stdout.write(JSON.stringify(out));
  }
});
`;

describe('net/lazy-form-data (issue 17: form-data is loaded only if a form is built)', () => {
  it('our requests (GET, a form-encoded string as MSAL sends, JSON) work without loading form-data; a multipart body loads the real module', () => {
    const out = JSON.parse(
      execFileSync(process.execPath, ['-e', SCRIPT, require.resolve('../../src/net/http'), require.resolve('../../src/net/lazy-form-data')], { encoding: 'utf8' }),
    ) as Record<string, Record<string, unknown>> & { error?: string };
    assert.equal(out.error, undefined, out.error);
    assert.deepEqual(out.afterLoad, { mimeDb: false, getIntrinsic: false, real: false });
    assert.deepEqual(out.ours.get, { method: 'GET', type: null, body: '' });
    assert.deepEqual(out.ours.form, { method: 'POST', type: 'application/x-www-form-urlencoded', body: 'grant_type=client_credentials&scope=x' });
    assert.equal((out.ours.json as { body: string }).body, '{"a":1}');
    assert.equal(out.ours.real, false);
    assert.equal(out.ours.mimeDb, false);
    // A real multipart body: form-data's own boundary and part headers, from the real module.
    assert.match(String(out.multipart.type), /^multipart\/form-data; boundary=-{20,}[0-9a-f]+$/);
    assert.match(String(out.multipart.body), /Content-Disposition: form-data; name="field"\r\n\r\nvalue\r\n/);
    assert.equal(out.multipart.real, true);
    assert.equal(out.multipart.mimeDb, true);
  });

  it('installs nothing when form-data is loaded already (axios keeps what it has)', () => {
    // In this process other tests loaded axios (and form-data) first, or http.ts installed the stand-in: either way a second install is a no-op.
    const lazy = require('../../src/net/lazy-form-data') as typeof import('../../src/net/lazy-form-data');
    const before = Object.keys(require.cache).length;
    lazy.installLazyFormData();
    assert.equal(Object.keys(require.cache).length, before);
  });
});
