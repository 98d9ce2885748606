import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { bypassesProxy, createHttpStack, IDLE_SOCKET_MS } from '../../src/net/http';
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

/** An HTTPS server that counts the TLS connections it accepts and notes when each one closes. */
async function countingServer(): Promise<{ origin: string; caPem: string; opened: number; closed: number; closedOne(): Promise<void>; close(): Promise<void> }> {
  const https = require('node:https') as typeof import('node:https');
  const { tlsFixture } = require('../support/api-tls') as typeof import('../support/api-tls');
  const fx = tlsFixture();
  const waiters: Array<() => void> = [];
  const state = {
    origin: '',
    caPem: fx.caPem,
    opened: 0,
    closed: 0,
    closedOne: () => new Promise<void>((r) => waiters.push(r)),
    close: async (): Promise<void> => undefined,
  };
  const server = https.createServer({ key: fx.keyPem, cert: fx.certPem }, (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
  });
  server.keepAliveTimeout = 60_000; // the client, not the server, decides when an idle socket goes
  server.on('secureConnection', (sock) => {
    state.opened++;
    sock.on('close', () => {
      state.closed++;
      waiters.splice(0).forEach((w) => w());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}

describe('net/http: one pool of connections for the stacks that share it (issue 17)', () => {
  let srv: Awaited<ReturnType<typeof countingServer>>;
  beforeEach(async () => {
    srv = await countingServer();
  });
  afterEach(() => srv.close());
  const agentOf = (s: ReturnType<typeof createHttpStack>) => s.axios.defaults.httpsAgent as import('node:https').Agent;

  it('stacks that share (the tenants of a bridge) use one agent and reuse one connection; others keep their own', async () => {
    const t1 = createHttpStack({ caPem: srv.caPem, env: {}, sharePool: true });
    const t2 = createHttpStack({ caPem: srv.caPem, env: {}, sharePool: true });
    const own = createHttpStack({ caPem: srv.caPem, env: {} });
    const otherCa = createHttpStack({ caPem: require('node:tls').rootCertificates[0] as string, env: {}, sharePool: true });
    try {
      assert.equal(agentOf(t1), agentOf(t2));
      assert.notEqual(agentOf(t1), agentOf(own));
      assert.notEqual(agentOf(t1), agentOf(otherCa));
      // Each sharing stack keeps the socket cap it had alone.
      assert.equal(agentOf(t1).maxSockets, 64);
      assert.equal((await t1.axios.get(`${srv.origin}/a`, { headers: { authorization: 'Bearer one' } })).status, 200);
      assert.equal((await t2.axios.get(`${srv.origin}/b`, { headers: { authorization: 'Bearer two' } })).status, 200);
      assert.equal(srv.opened, 1, 'the second tenant reused the first one\'s idle connection');
      assert.equal((await own.axios.get(`${srv.origin}/c`)).status, 200);
      assert.equal(srv.opened, 2, 'a stack of its own opens its own connection');
    } finally {
      for (const s of [t1, t2, own, otherCa]) s.close();
    }
  });

  it('closing one sharing stack leaves the pool to the others; the last one out closes the sockets', async () => {
    const t1 = createHttpStack({ caPem: srv.caPem, env: {}, sharePool: true });
    const t2 = createHttpStack({ caPem: srv.caPem, env: {}, sharePool: true });
    try {
      await t1.axios.get(`${srv.origin}/a`);
      t1.close();
      t1.close(); // idempotent: does not release t2's hold
      assert.equal(agentOf(t2).maxSockets, 32);
      assert.equal((await t2.axios.get(`${srv.origin}/b`)).status, 200);
      assert.equal(srv.opened, 1);
      assert.equal(srv.closed, 0);
      const closed = srv.closedOne();
      t2.close();
      await closed;
      assert.equal(srv.closed, 1);
      // A new sharing stack after that gets a fresh pool, not the destroyed one.
      const t3 = createHttpStack({ caPem: srv.caPem, env: {}, sharePool: true });
      try {
        assert.notEqual(agentOf(t3), agentOf(t2));
        assert.equal((await t3.axios.get(`${srv.origin}/c`)).status, 200);
      } finally {
        t3.close();
      }
    } finally {
      t1.close();
      t2.close();
    }
  });

  it('an idle keep-alive socket is closed by the client after idleSocketMs; the next request reconnects', async () => {
    const s = createHttpStack({ caPem: srv.caPem, env: {}, sharePool: true, idleSocketMs: 50 });
    try {
      const closed = srv.closedOne();
      assert.equal((await s.axios.get(`${srv.origin}/a`)).status, 200);
      await closed; // the server keeps idle sockets 60 s: this close is the client's
      assert.equal(srv.closed, 1);
      assert.equal((await s.axios.get(`${srv.origin}/b`)).status, 200);
      assert.equal(srv.opened, 2);
    } finally {
      s.close();
    }
  });

  it('the default idle timeout is below the 5 s keep-alive of Node servers and Node\'s own agent', () => {
    const s = createHttpStack({ env: {} });
    try {
      const opts = (agentOf(s) as unknown as { options: { timeout?: number; keepAlive?: boolean } }).options;
      assert.equal(opts.keepAlive, true);
      assert.equal(opts.timeout, IDLE_SOCKET_MS);
      assert.ok(IDLE_SOCKET_MS > 0 && IDLE_SOCKET_MS < 5000);
    } finally {
      s.close();
    }
  });
});
