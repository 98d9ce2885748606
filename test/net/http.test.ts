import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { bypassesProxy, createHttpStack } from '../../src/net/http';
import { startServer, json, type TestServer } from '../support/api-server';

/** A minimal CONNECT proxy that records the targets it tunnels to. */
async function startProxy(): Promise<{ url: string; targets: string[]; close(): Promise<void> }> {
  const targets: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((_req, res) => {
    res.statusCode = 405;
    res.end();
  });
  server.on('connect', (req, client: net.Socket) => {
    targets.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    void host;
    const upstream = net.connect(Number(port), '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    upstream.on('error', drop);
    client.on('error', drop);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    targets,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('api/http', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer();
  });
  after(() => srv.close());

  it('NO_PROXY matching', () => {
    assert.equal(bypassesProxy('https://manage.office.com/x', 'office.com'), true);
    assert.equal(bypassesProxy('https://manage.office.com/x', '.office.com'), true);
    assert.equal(bypassesProxy('https://manage.office.com/x', '*.office.com'), true);
    assert.equal(bypassesProxy('https://manage.office.com/x', 'other.com, foo'), false);
    assert.equal(bypassesProxy('https://manage.office.com/x', '*'), true);
    assert.equal(bypassesProxy('https://manage.office.com/x', 'manage.office.com:443'), true);
    assert.equal(bypassesProxy('https://manage.office.com/x', 'manage.office.com:8443'), false);
    assert.equal(bypassesProxy('https://notoffice.com/x', 'office.com'), false);
    assert.equal(bypassesProxy('https://manage.office.com/x', undefined), false);
    // Loopback never goes through a proxy.
    assert.equal(bypassesProxy('https://127.0.0.1:8443/x', undefined), true);
    assert.equal(bypassesProxy('https://localhost/x', ''), true);
  });

  it('trusts the configured CA and refuses an unknown one', async () => {
    srv.handler = (_q, res) => json(res, 200, { ok: true });
    const good = createHttpStack({ caPem: srv.caPem, env: {} });
    const bad = createHttpStack({ env: {} });
    try {
      const r = await good.axios.get(`${srv.origin}/x`);
      assert.equal(r.status, 200);
      await assert.rejects(bad.axios.get(`${srv.origin}/x`), (e: { code?: string }) => /CERT|SELF_SIGNED|UNABLE/.test(e.code ?? ''));
    } finally {
      good.close();
      bad.close();
    }
  });

  it('sends HTTPS through the proxy (env), keeping the CA for the tunnelled TLS, unless NO_PROXY says otherwise', async () => {
    const proxy = await startProxy();
    srv.handler = (_q, res) => json(res, 200, { ok: true });
    const port = new URL(srv.origin).port;
    // "api.test" only exists for the proxy (which tunnels every host to 127.0.0.1): reaching it proves the proxy was used.
    const viaProxy = createHttpStack({ caPem: srv.caPem, env: { HTTPS_PROXY: proxy.url } });
    const direct = createHttpStack({ caPem: srv.caPem, env: { HTTPS_PROXY: proxy.url, NO_PROXY: 'api.test' } });
    const cfg = createHttpStack({ caPem: srv.caPem, proxyUrl: proxy.url, noProxy: '', env: { HTTPS_PROXY: 'http://127.0.0.1:1', NO_PROXY: '*' } });
    try {
      const r = await viaProxy.axios.get(`https://api.test:${port}/via`);
      assert.equal(r.status, 200);
      assert.deepEqual(proxy.targets, [`api.test:${port}`]);
      assert.equal(srv.seen.at(-1)?.url, '/via');
      // Config wins over the environment.
      assert.equal((await cfg.axios.get(`https://api.test:${port}/cfg`)).status, 200);
      assert.equal(proxy.targets.length, 2);
      // Loopback and NO_PROXY hosts go direct.
      assert.equal((await viaProxy.axios.get(`${srv.origin}/loop`)).status, 200);
      assert.equal(direct.proxyFor(`https://api.test:${port}/x`), null);
      await assert.rejects(direct.axios.get(`https://api.test:${port}/x`)); // no DNS for api.test without the proxy
      assert.equal(proxy.targets.length, 2);
      assert.equal(viaProxy.proxyFor('https://manage.office.com/x'), `${proxy.url}/`);
    } finally {
      viaProxy.close();
      direct.close();
      cfg.close();
      await proxy.close();
    }
  });

  it('does not follow redirects (a redirect could carry the token elsewhere)', async () => {
    srv.handler = (_q, res) => {
      res.writeHead(302, { location: 'https://evil.example/' });
      res.end();
    };
    const stack = createHttpStack({ caPem: srv.caPem, env: {} });
    try {
      const r = await stack.axios.get(`${srv.origin}/redir`);
      assert.equal(r.status, 302);
    } finally {
      stack.close();
    }
  });

  it('times out a request that gets no answer', async () => {
    srv.handler = () => undefined; // never answers
    const stack = createHttpStack({ caPem: srv.caPem, timeoutMs: 150, env: {} });
    try {
      await assert.rejects(stack.axios.get(`${srv.origin}/hang`), (e: { code?: string }) => e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT');
    } finally {
      stack.close();
    }
  });

  it('a response that trickles (headers, then a byte now and then) misses the whole-response deadline', async () => {
    const timers: NodeJS.Timeout[] = [];
    srv.handler = (_q, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const t = setInterval(() => res.write(' '), 100);
      timers.push(t);
      res.on('close', () => clearInterval(t));
    };
    const stack = createHttpStack({ caPem: srv.caPem, timeoutMs: 600, env: {} });
    try {
      await assert.rejects(stack.axios.get(`${srv.origin}/trickle`, { responseType: 'text' }), (e: { code?: string; message?: string; config?: unknown }) => {
        assert.equal(e.code, 'ETIMEDOUT');
        assert.match(String(e.message), /no complete response within/);
        assert.equal(e.config, undefined, 'carries no request config (headers hold tokens)');
        return true;
      });
    } finally {
      for (const t of timers) clearInterval(t);
      stack.close();
    }
  });

  it("the stack's stop signal ends a request waiting for an answer", async () => {
    srv.handler = () => undefined;
    const stop = new AbortController();
    const stack = createHttpStack({ caPem: srv.caPem, timeoutMs: 60_000, env: {}, signal: stop.signal });
    try {
      const p = stack.axios.get(`${srv.origin}/hang-until-stop`);
      setTimeout(() => stop.abort(), 50);
      await assert.rejects(p, (e: { name?: string; code?: string }) => e.code === 'ERR_CANCELED');
    } finally {
      stack.close();
    }
  });

  it('proxy from the environment: HTTPS_PROXY with NO_PROXY (curl, npm and the Azure SDKs read them); http.proxy wins with its own noProxy', () => {
    const fromEnv = createHttpStack({ env: { HTTPS_PROXY: 'http://proxy.example:3128', NO_PROXY: 'skip.example' }, noProxy: '' });
    const lower = createHttpStack({ env: { https_proxy: 'http://proxy.example:3128', no_proxy: '.skip.example' } });
    const configured = createHttpStack({ proxyUrl: 'http://cfg.example:8080', noProxy: 'cfg-skip.example', env: { HTTPS_PROXY: 'http://proxy.example:3128', NO_PROXY: '*' } });
    const none = createHttpStack({ env: { HTTPS_PROXY: '' } });
    try {
      assert.equal(fromEnv.proxySource, 'env');
      assert.equal(fromEnv.proxyFor('https://manage.office.com/x'), 'http://proxy.example:3128/');
      assert.equal(fromEnv.proxyFor('https://skip.example/x'), null, 'NO_PROXY is honoured even when http.noProxy is empty');
      assert.equal(lower.proxyFor('https://a.skip.example/x'), null);
      assert.equal(lower.proxyFor('https://login.microsoftonline.com/x'), 'http://proxy.example:3128/');
      assert.equal(configured.proxySource, 'config');
      assert.equal(configured.proxyFor('https://manage.office.com/x'), 'http://cfg.example:8080/');
      assert.equal(configured.proxyFor('https://cfg-skip.example/x'), null);
      assert.equal(none.proxySource, 'none');
      assert.equal(none.proxyFor('https://manage.office.com/x'), null);
    } finally {
      for (const s of [fromEnv, lower, configured, none]) s.close();
    }
  });
});

describe('net/http: one secure context per extra CA (issue 17)', () => {
  const agentContext = (s: ReturnType<typeof createHttpStack>) => (s.axios.defaults.httpsAgent as { options: { secureContext?: unknown } }).options.secureContext;
  it('stacks with the same CA share one secure context (not ~0.9 MiB of native memory each); another CA gets its own', () => {
    // A real PEM is needed for createSecureContext: two of Node's roots stand in as "the extra CA".
    const tls = require('node:tls') as typeof import('node:tls');
    const [a, b] = [tls.rootCertificates[0], tls.rootCertificates[1]];
    const s1 = createHttpStack({ caPem: a });
    const s2 = createHttpStack({ caPem: a });
    const s3 = createHttpStack({ caPem: b });
    const s4 = createHttpStack({});
    try {
      assert.ok(agentContext(s1));
      assert.equal(agentContext(s1), agentContext(s2));
      assert.notEqual(agentContext(s1), agentContext(s3));
      assert.equal(agentContext(s4), undefined);
    } finally {
      for (const s of [s1, s2, s3, s4]) s.close();
    }
  });
});
