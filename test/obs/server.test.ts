import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import * as net from 'node:net';
import { createMetrics } from '../../src/obs/metrics';
import { startObsServer, type ObsServer, type Readiness } from '../../src/obs/server';
import { isBridgeError } from '../../src/errors';
import { parseProm } from './prom-text';

function get(url: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function waitFor(pred: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('obs/server', () => {
  let srv: ObsServer | undefined;
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
  });

  it('serves /metrics as Prometheus text over HTTP', async () => {
    const metrics = createMetrics({ processMetrics: false });
    metrics.recordsEmitted('t1', 'Audit.Exchange', 28, 9);
    srv = await startObsServer({ port: 0, metrics, readiness: () => ({ ready: true, reasons: [] }) });
    assert.equal(srv.host, '127.0.0.1');
    assert.ok(srv.port > 0);
    const r = await get(srv.url + '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.type, /^text\/plain/);
    assert.equal(parseProm(r.body).get('o365_bridge_records_emitted_total{content_type=Audit.Exchange,record_type=28,tenant=t1}'), 9);
  });

  it('/healthz answers 200 whatever readiness says', async () => {
    srv = await startObsServer({ port: 0, metrics: createMetrics({ processMetrics: false }), readiness: () => ({ ready: false, reasons: ['x'] }) });
    const r = await get(srv.url + '/healthz');
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { status: 'ok' });
  });

  it('/readyz is 200 when ready and 503 with reasons when not', async () => {
    let state: Readiness = { ready: true, reasons: [] };
    srv = await startObsServer({ port: 0, metrics: createMetrics({ processMetrics: false }), readiness: () => state });
    let r = await get(srv.url + '/readyz');
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { ready: true, reasons: [] });

    state = { ready: false, reasons: ['tenant t1: not authenticated', 'receiver unreachable'] };
    r = await get(srv.url + '/readyz');
    assert.equal(r.status, 503);
    assert.match(r.type, /^application\/json/);
    assert.deepEqual(JSON.parse(r.body), { ready: false, reasons: ['tenant t1: not authenticated', 'receiver unreachable'] });
  });

  it('/readyz is 503 when the readiness check throws or rejects', async () => {
    srv = await startObsServer({
      port: 0,
      metrics: createMetrics({ processMetrics: false }),
      readiness: async () => {
        throw new Error('boom');
      },
    });
    const r = await get(srv.url + '/readyz');
    assert.equal(r.status, 503);
    assert.deepEqual(JSON.parse(r.body), { ready: false, reasons: ['readiness check failed'] });
  });

  it('answers 404 for unknown paths, 405 for other methods, and HEAD without a body', async () => {
    srv = await startObsServer({ port: 0, metrics: createMetrics({ processMetrics: false }), readiness: () => ({ ready: true, reasons: [] }) });
    assert.equal((await get(srv.url + '/nope')).status, 404);
    assert.equal((await get(srv.url + '/metrics', 'POST')).status, 405);
    const h = await get(srv.url + '/healthz', 'HEAD');
    assert.equal(h.status, 200);
    assert.equal(h.body, '');
    assert.equal((await get(srv.url + '/readyz?verbose=1')).status, 200);
  });

  it('bounds its connections: a cap, and idle or silent connections closed, so scraping never starves the pipeline', async () => {
    const metrics = createMetrics({ processMetrics: false });
    srv = await startObsServer({ port: 0, metrics, readiness: () => ({ ready: true, reasons: [] }), limits: { maxConnections: 8, idleTimeoutMs: 300, headersTimeoutMs: 300 } });
    const sockets: net.Socket[] = [];
    let closed = 0;
    for (let i = 0; i < 40; i++) {
      const s = net.connect(srv.port, '127.0.0.1');
      s.on('error', () => undefined);
      s.on('close', () => closed++);
      sockets.push(s);
    }
    try {
      // Over the cap: closed at once; the rest: closed once idle. None is kept for ever.
      await waitFor(() => closed === 40, 10_000);
      // A slow sender of headers is closed too, and the server still answers afterwards.
      const slow = net.connect(srv.port, '127.0.0.1');
      slow.on('error', () => undefined);
      slow.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
      await new Promise<void>((r) => slow.on('close', () => r()));
      assert.equal((await get(srv.url + '/healthz')).status, 200);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });

  it('fails with a stable code when the port is taken', async () => {
    srv = await startObsServer({ port: 0, metrics: createMetrics({ processMetrics: false }), readiness: () => ({ ready: true, reasons: [] }) });
    await assert.rejects(
      startObsServer({ port: srv.port, metrics: createMetrics({ processMetrics: false }), readiness: () => ({ ready: true, reasons: [] }) }),
      (e: unknown) => isBridgeError(e, 'CONFIG_INVALID') && /EADDRINUSE/.test((e as Error).message),
    );
  });

  it('close() is idempotent and frees the port', async () => {
    const s = await startObsServer({ port: 0, metrics: createMetrics({ processMetrics: false }), readiness: () => ({ ready: true, reasons: [] }) });
    await get(s.url + '/healthz');
    await s.close();
    await s.close();
    await assert.rejects(get(s.url + '/healthz'));
  });
});
