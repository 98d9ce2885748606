/**
 * Broken or hostile input against the real CLI (issue 12): it never hangs, never skips content
 * silently, never wedges. Answers that stall or trickle after their headers, time from the API that
 * is not sane, NextPageUri chains that never end or loop, edited state, odd config, records JSON
 * carries but JavaScript can't, a flood of idle connections to the metrics port.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { addRow, CLI, delay, expectClean, KNOWN_SECRET, KNOWN_SHARED_KEY, printTableAtEnd, Scenario, waitUntil } from '../support/faults-harness';
import { validRecords } from '../support/faults-hostile';
import { tlsFixture } from '../support/api-tls';
import { startHostileWire, type HostileWire } from './hostile-wire';

printTableAtEnd();

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const GENERAL = 'Audit.General';
const iso = (t: number) => new Date(t).toISOString().replace(/\.\d+Z$/, '.000Z');

/** Points the scenario's tenant at `url` (authority and API). */
function route(s: Scenario, url: string): void {
  const t = (s.config.tenants as Array<Record<string, unknown>>)[0];
  s.writeConfig({ tenants: [{ ...t, authorityUrl: url, apiUrl: url }] });
}

function ref(s: Scenario, id: string, created: number, expires = created + 7 * DAY) {
  return {
    contentType: GENERAL,
    contentId: id,
    contentUri: `${s.front.url}/api/v1.0/${s.tenantId}/activity/feed/audit/${encodeURIComponent(id)}`,
    contentCreated: iso(created),
    contentExpiration: iso(expires),
  };
}

describe('faults: broken or hostile input (never hangs, never skips silently, never wedges)', function () {
  let s: Scenario | undefined;
  let wire: HostileWire | undefined;
  afterEach(async () => {
    await wire?.stop();
    await s?.close();
    s = undefined;
    wire = undefined;
  });

  it('answers that stall or trickle after their headers (blob, listing, token) time out and are retried; nothing is lost', async () => {
    s = await Scenario.start('hostile: stalled + trickling answers', { contentTypes: [GENERAL], config: { http: { timeoutSeconds: 3 } } });
    wire = await startHostileWire(s.front.url, s.emu.ca!);
    wire.decide = (r) => {
      if (r.seq > 0) return r.route === 'blob' && r.seq === 1 ? { trickleEveryMs: 500 } : 'forward';
      if (r.route === 'blob') return 'stall';
      if (r.route === 'listing' || r.route === 'token') return { trickleEveryMs: 500 };
      return 'forward';
    };
    route(s, wire.url);
    const r = await s.runToEnd({}, 120_000);
    assert.equal((await r.exited).code, 0, r.out.slice(-3000));
    assert.ok(r.logs('retrying').some((l) => l.code === 'API_TIMEOUT'), 'the trickling listing timed out and was retried');
    assert.ok(r.logs('blob failed, will retry').some((l) => (l.err as { code?: string })?.code === 'API_TIMEOUT'), 'the stalled blob timed out and was retried');
    assert.equal(wire.held, 0, 'no answer is still held open');
    expectClean(s, { note: 'blob stall + trickle, listing + token trickle', maxDuplicates: 0 });
  });

  it('SIGTERM during a token request that trickles: stops within the grace, exit 0', async () => {
    s = await Scenario.start('hostile: SIGTERM during a trickling token request', { contentTypes: [GENERAL], config: { http: { timeoutSeconds: 300 }, poll: { once: false } } });
    wire = await startHostileWire(s.front.url, s.emu.ca!);
    wire.decide = (r) => (r.route === 'token' ? { trickleEveryMs: 500 } : 'forward');
    route(s, wire.url);
    const r = s.spawn();
    await waitUntil(() => wire!.held > 0 || !r.running, 30_000, 'a token request held open');
    r.child.kill('SIGTERM');
    // Grace: sink.ackTimeoutSeconds (5) + 5 s; the harness kills it after 30 s.
    const { code, signal } = await r.finish(30_000);
    assert.equal(signal, null, `ended by ${signal}, not by itself: ${r.out.slice(-2000)}`);
    assert.equal(code, 0, r.out.slice(-2000));
    addRow({ scenario: s.name, generated: 0, delivered: 0, duplicates: 0, lost: 0, lostAtSource: 0, verdict: 'pass', note: 'exit 0 on SIGTERM' });
  });

  it('listing entries with a contentCreated in the future or unparsable are refused by id and never become the cursor', async () => {
    s = await Scenario.start('hostile: future / unparsable contentCreated', { contentTypes: [GENERAL] });
    const sc = s;
    const bad = [
      { ...ref(sc, 'future-2099', Date.now()), contentCreated: '2099-01-01T00:00:00.000Z' },
      { ...ref(sc, 'digits-99999', Date.now()), contentCreated: '99999' },
    ];
    sc.front.hooks.listing = (_r, entries, headers) => ({ status: 200, headers, body: JSON.stringify([...entries, ...bad]) });
    const r = await sc.runToEnd();
    assert.equal((await r.exited).code, 0, r.out.slice(-2000));
    const refused = r.logs('listing entry refused: its time or id cannot be trusted; it is not fetched and cannot move the checkpoint');
    for (const b of bad) assert.ok(refused.some((l) => l.contentId === b.contentId), `${b.contentId} refused by id`);
    const cp = sc.checkpoint(GENERAL)!;
    assert.ok(Date.parse(cp.cursor!) <= Date.now(), `cursor ${cp.cursor} is not in the future`);
    // The next run, after an outage longer than the trailing window, still lists from the cursor.
    expectClean(sc, { note: '2 entries refused by id', maxDuplicates: 0 });
  });

  it('a Date header 8 days ahead (once, then on every answer) never moves the listing window: nothing is skipped', async () => {
    s = await Scenario.start('hostile: Date header 8 days ahead', { contentTypes: [GENERAL], emulator: { pageSize: 5 } });
    const sc = s;
    wire = await startHostileWire(sc.front.url, sc.emu.ca!);
    route(sc, wire.url);
    const ahead = () => new Date(Date.now() + 8 * DAY).toUTCString();
    // Once: on the answer just before the first listing (subscriptions/start), the last the client saw.
    wire.headers = (r, h) => (r.url.pathname.endsWith('/subscriptions/start') ? { ...h, date: ahead() } : h);
    let r = await sc.runToEnd();
    assert.equal((await r.exited).code, 0, r.out.slice(-2000));
    assert.equal(wire.requests.other >= 2, true, 'subscriptions were listed and started');
    const a1 = sc.account({ note: 'skew once' });
    assert.deepEqual(a1.missing, [], 'one Date header skipped nothing');
    // Persistent: every answer says so. A warning, the correction capped, nothing skipped.
    wire.headers = (_r, h) => ({ ...h, date: ahead() });
    fs.rmSync(sc.stateDir, { recursive: true, force: true });
    r = await sc.runToEnd();
    assert.equal((await r.exited).code, 0, r.out.slice(-2000));
    assert.ok(r.logs('clock skew with the API server').length > 0, 'a large skew is a warning');
    expectClean(sc, { note: 'skew once, then persistent (warned, capped)' });
  });

  it('a checkpoint older than the retention: everything the API still holds is fetched, from the earliest reachable start', async () => {
    s = await Scenario.start('hostile: checkpoint 8 days old', { contentTypes: [GENERAL] });
    const sc = s;
    const now = Date.now();
    // Blobs the API still holds 5 and 10 minutes after the 7-day limit: listed only to a start before them.
    const held = [ref(sc, 'held-5min', now - 7 * DAY + 5 * 60_000), ref(sc, 'held-10min', now - 7 * DAY + 10 * 60_000)];
    const records = validRecords(sc.emu, sc.tenantId, GENERAL, 4, now - 6 * HOUR, now);
    sc.front.hooks.listing = (q, entries, headers) => {
      const start = Date.parse((q.url.searchParams.get('startTime') ?? '') + 'Z');
      const end = Date.parse((q.url.searchParams.get('endTime') ?? '') + 'Z');
      const inWindow = held.filter((h) => Date.parse(h.contentCreated) >= start && Date.parse(h.contentCreated) < end);
      return { status: 200, headers, body: JSON.stringify([...inWindow, ...entries]) };
    };
    sc.front.hooks.replace = (q) => {
      if (q.route !== 'blob') return undefined;
      const i = held.findIndex((h) => h.contentId === q.contentId);
      return i < 0 ? undefined : { status: 200, body: JSON.stringify(records.slice(i * 2, i * 2 + 2)) };
    };
    fs.mkdirSync(sc.stateDir, { recursive: true });
    const file = path.join(sc.stateDir, `checkpoint.${sc.tenantId}.${GENERAL}.json`);
    fs.writeFileSync(file, JSON.stringify({ version: 1, tenantId: sc.tenantId, contentType: GENERAL, cursor: iso(now - 8 * DAY), doneAtCursor: [], recent: [], lost: [], updatedAt: iso(now - 8 * DAY) }));
    const r = await sc.runToEnd({}, 180_000);
    assert.equal((await r.exited).code, 0, r.out.slice(-2000));
    const acked = sc.rx.ackedIds();
    for (const rec of records) assert.ok(acked.has(String(rec.Id)), `record ${String(rec.Id)} of a blob the API still held was delivered`);
    // The range the API no longer holds is recorded as lost (checkpoint gaps, the log), once.
    const cp = JSON.parse(fs.readFileSync(file, 'utf8')) as { gaps?: Array<{ from: string; to: string; code: string }> };
    assert.equal(cp.gaps?.length, 1, 'the unreachable range is in the checkpoint');
    assert.equal(cp.gaps![0].from, iso(now - 8 * DAY));
    assert.ok(Date.parse(cp.gaps![0].to) <= Date.parse(held[0].contentCreated), cp.gaps![0].to);
    assert.equal(r.count(/no longer answers for this time range/), 1, r.out.slice(-2000));
    expectClean(sc, { note: '2 held blobs near the 7-day limit fetched', extra: records.map((x) => String(x.Id)), maxDuplicates: 0 } as never);
  });

  it('edited state: an empty lock (power loss) is taken over; a cursor in the future stops the run naming the file', async () => {
    s = await Scenario.start('hostile: empty lock, future cursor', { contentTypes: [GENERAL] });
    fs.mkdirSync(s.stateDir, { recursive: true });
    fs.writeFileSync(path.join(s.stateDir, '.lock'), '');
    let r = await s.runToEnd();
    assert.equal((await r.exited).code, 0, r.out.slice(-2000));
    expectClean(s, { note: 'empty lock taken over', maxDuplicates: 0 });
    const file = path.join(s.stateDir, `checkpoint.${s.tenantId}.${GENERAL}.json`);
    const cp = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(file, JSON.stringify({ ...cp, cursor: '2099-01-01T00:00:00.000Z', doneAtCursor: [] }));
    r = await s.runToEnd();
    assert.equal((await r.exited).code, 1, r.out.slice(-2000));
    assert.match(r.out, /STATE_CORRUPT/);
    assert.ok(r.out.includes(file) && /cursor in the future/.test(r.out), r.out.slice(-2000));
  });

  it('a NextPageUri chain that never ends is cut at the page bound; a loop A → B → A keeps what was listed', async () => {
    s = await Scenario.start('hostile: endless and looping NextPageUri', { contentTypes: [GENERAL], emulator: { pageSize: 1000 } });
    const sc = s;
    let mode: 'endless' | 'loop' = 'endless';
    let firstPage = '';
    let endless = 0;
    sc.front.hooks.listing = (q, entries, headers) => {
      firstPage = `${sc.front.url}${q.url.pathname}${q.url.search}`;
      const next = mode === 'endless' ? `${firstPage}&endless=1` : `${firstPage}&loop=B`;
      return { status: 200, headers: { ...headers, NextPageUri: next }, body: JSON.stringify(entries) };
    };
    sc.front.hooks.replace = (q) => {
      if (q.route !== 'listing') return undefined;
      const e = q.url.searchParams.get('endless');
      if (e) {
        endless++;
        return { status: 200, headers: { NextPageUri: `${firstPage}&endless=${Number(e) + 1}` }, body: '[]' };
      }
      if (q.url.searchParams.get('loop') === 'B') return { status: 200, headers: { NextPageUri: firstPage }, body: '[]' };
      return undefined;
    };
    let r = await sc.runToEnd({}, 180_000);
    assert.equal((await r.exited).code, 0, r.out.slice(-2000));
    assert.ok(endless > 0 && endless < 5000, `${endless} endless pages followed`);
    assert.match(r.out, /listing stopped early: the API kept sending NextPageUri/);
    const a = sc.account({ note: `endless chain cut (${endless} pages)` });
    assert.deepEqual(a.missing, []);
    mode = 'loop';
    fs.rmSync(sc.stateDir, { recursive: true, force: true });
    r = await sc.runToEnd({}, 120_000);
    assert.equal((await r.exited).code, 0, r.out.slice(-2000));
    assert.match(r.out, /NextPageUri already followed; stopping this listing there, keeping what was listed/);
    expectClean(sc, { note: 'endless cut; loop kept what was listed' });
  });

  it('odd config: a YAML alias bomb, a FIFO secret, /dev/zero as a CA file: exit 2 with a line each, never a hang', async () => {
    s = await Scenario.start('hostile: alias bomb, FIFO, /dev/zero', { contentTypes: [GENERAL] });
    const yamlFile = path.join(s.dir, 'bomb.yaml');
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill('*' + String.fromCharCode(96 + i)).join(', ')}]`);
    fs.writeFileSync(yamlFile, lines.join('\n') + '\ntenants: []\n');
    let r = s.spawn({}, ['run', '--config', yamlFile]);
    let ex = await r.finish(30_000);
    assert.equal(ex.code, 2, r.out);
    assert.match(r.out, /bomb\.yaml: cannot parse: YAML aliases expand too much/);
    const fifo = path.join(s.dir, 'secret.fifo');
    spawnSyncOk('mkfifo', [fifo]);
    const t = (s.config.tenants as Array<Record<string, unknown>>)[0];
    s.writeConfig({ tenants: [{ ...t, clientSecret: { file: 'secret.fifo' } }], http: { caFile: '/dev/zero' } });
    r = s.spawn();
    ex = await r.finish(30_000);
    assert.equal(ex.code, 2, r.out);
    assert.match(r.out, /tenants\[0\]\.clientSecret: cannot read secret file .*secret\.fifo \(a FIFO, not a regular file\)/);
    assert.match(r.out, /http\.caFile: cannot read \/dev\/zero \(not a regular file\)/);
    assert.equal(s.front.requests.token + s.front.requests.listing, 0);
    addRow({ scenario: s.name, generated: 0, delivered: 0, duplicates: 0, lost: 0, lostAtSource: 0, verdict: 'pass', note: 'exit 2, one line each' });
  });

  it('records JSON carries but JavaScript cannot, a record with its own o365_bridge key, 30 000 attachments with warnings: delivered, flagged, not wedged', async () => {
    s = await Scenario.start('hostile: record fidelity + warnings flood', { contentTypes: [GENERAL] });
    const sc = s;
    const now = Date.now();
    const [t1, t2, t3] = validRecords(sc.emu, sc.tenantId, GENERAL, 3, now - 6 * HOUR, now);
    const fidelity = JSON.stringify({ ...t1, o365_bridge: { theirs: 'kept' } }).replace(/^\{/, '{"Big":12345678901234567890,"Huge":1e400,"Lone":"a\\ud800b",');
    const flood: Record<string, unknown> = { ...t2, RecordType: 28, AttachmentData: Array.from({ length: 30_000 }, (_, i) => ({ FileName: `f${i}.exe`, FileType: 'exe', FileVerdict: 7, SHA256: 'ab' })) };
    const body = `[${fidelity},${JSON.stringify(flood)},${JSON.stringify(t3)}]`;
    const extra = [ref(sc, 'fidelity-blob', now - 2 * HOUR)];
    sc.front.hooks.listing = (_r, entries, headers) => ({ status: 200, headers, body: JSON.stringify([...entries, ...extra]) });
    sc.front.hooks.replace = (q) => (q.route === 'blob' && q.contentId === 'fidelity-blob' ? { status: 200, body } : undefined);
    const r = await sc.runToEnd({}, 120_000);
    assert.equal((await r.exited).code, 0, r.out.slice(-2000));
    const byId = new Map(sc.rx.events.map((e) => [e.record?.Id as string, e.record]));
    const f = byId.get(String(t1.Id));
    assert.ok(f, 'the fidelity record arrived');
    assert.equal(f.Big, '12345678901234567890', 'exact digits, as a string');
    assert.equal(f.Huge, '1e400');
    assert.deepEqual(f.o365_bridge, { theirs: 'kept' }, "the record's own key kept");
    const meta = f.o365_bridge_ as { content_id: string; warnings: Array<{ path: string; keyword: string }> };
    assert.equal(meta.content_id, 'fidelity-blob');
    const paths = meta.warnings.map((w) => `${w.keyword} ${w.path}`);
    for (const p of ['fidelity /Big', 'fidelity /Huge', 'fidelity /Lone', 'collision /o365_bridge']) assert.ok(paths.includes(p), `${p} in ${paths.join(', ')}`);
    const fl = byId.get(String(flood.Id));
    assert.ok(fl, 'the record with 30 000 attachments arrived');
    assert.ok(fl.o365_bridge.warnings.length <= 21, `${fl.o365_bridge.warnings.length} warnings`);
    assert.ok(sc.rx.ackedIds().has(String(t3.Id)), 'the record after it too: delivery not wedged');
    expectClean(sc, { note: 'fidelity flagged; warnings capped', extra: [t1, flood, t3].map((x) => String(x.Id)) } as never);
  });

  it('HTTPS_PROXY from the environment (http.proxy unset) carries the token and API calls, as curl, npm and the Azure SDKs do', async () => {
    s = await Scenario.start('proxy: HTTPS_PROXY from the environment', { contentTypes: [GENERAL] });
    const sc = s;
    const tlsApi = tlsFixture(); // a certificate for "api.test", a name only the proxy can resolve
    wire = await startHostileWire(sc.front.url, sc.emu.ca!, { keyPem: tlsApi.keyPem, certPem: tlsApi.certPem, publicHostname: 'api.test' });
    const wirePort = Number(new URL(wire.url).port);
    fs.writeFileSync(path.join(sc.dir, 'ca.pem'), sc.emu.ca! + '\n' + tlsApi.caPem);
    route(sc, wire.url);
    const targets: string[] = [];
    const tunnels = new Set<net.Socket>();
    const proxy = http.createServer((_q, res) => res.writeHead(405).end());
    proxy.on('connect', (req: http.IncomingMessage, client: net.Socket) => {
      targets.push(req.url ?? '');
      const port = Number((req.url ?? '').split(':')[1]);
      const up = net.connect(port === wirePort ? wirePort : 1, '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        up.pipe(client);
        client.pipe(up);
      });
      tunnels.add(client).add(up);
      const drop = () => (client.destroy(), up.destroy());
      up.on('error', drop);
      client.on('error', drop);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const proxyUrl = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
      const r = await sc.runToEnd({ HTTPS_PROXY: proxyUrl, https_proxy: undefined, NO_PROXY: undefined, no_proxy: undefined });
      assert.equal((await r.exited).code, 0, r.out.slice(-2000));
      assert.ok(targets.length > 0 && targets.every((t) => t === `api.test:${wirePort}`), `tunnels: ${targets.join(', ')}`);
      assert.ok(wire.requests.token > 0 && wire.requests.listing > 0, 'token and API calls went through it');
      expectClean(sc, { note: `${targets.length} tunnels through HTTPS_PROXY`, maxDuplicates: 0 });
    } finally {
      for (const t of tunnels) t.destroy();
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });

  it('1 000 idle connections to the metrics port (ulimit -n 256) do not starve the pipeline', async () => {
    s = await Scenario.start('hostile: 1000 idle metrics connections', { contentTypes: [GENERAL] });
    const sc = s;
    const port = await freePort();
    sc.writeConfig({ metrics: { enabled: true, port }, poll: { once: true } });
    // Hold the first listing back until the flood is in place: the API and the sink need new sockets then.
    let release = false;
    sc.front.hooks.replace = (q) => (q.route === 'listing' && !release ? { status: 503, headers: { 'Retry-After': '1' }, body: '{"error":{"code":"AF50000","message":"wait"}}' } : undefined);
    const env: NodeJS.ProcessEnv = { ...process.env, FAULTS_CLIENT_SECRET: KNOWN_SECRET, FAULTS_SHARED_KEY: KNOWN_SHARED_KEY };
    delete env.NODE_OPTIONS;
    const child = spawn('bash', ['-c', `ulimit -n 256 && exec "${process.execPath}" "${CLI}" run --config "${sc.configFile}"`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    const sockets: net.Socket[] = [];
    try {
      await waitUntil(() => out.includes('metrics and health listening') || child.exitCode !== null, 30_000, 'metrics listening');
      for (let i = 0; i < 1000; i++) {
        const so = net.connect(port, '127.0.0.1');
        so.on('error', () => undefined);
        sockets.push(so);
        if (i % 100 === 99) await delay(20);
      }
      await delay(500);
      release = true;
      const kill = setTimeout(() => child.kill('SIGKILL'), 120_000);
      const code = await exited;
      clearTimeout(kill);
      assert.equal(code, 0, out.slice(-3000));
      assert.ok(!/EMFILE/.test(out), 'no EMFILE');
    } finally {
      for (const so of sockets) so.destroy();
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    expectClean(sc, { note: '1000 idle connections, ulimit 256', maxDuplicates: 0 });
  });
});

function spawnSyncOk(cmd: string, args: string[]): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const r = (require('node:child_process') as typeof import('node:child_process')).spawnSync(cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} failed: ${String(r.stderr)}`);
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const p = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return p;
}
