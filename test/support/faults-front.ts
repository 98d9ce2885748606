/**
 * An HTTPS front for the emulator, used by the fault suite as the child's authority and API URL.
 *
 * Why: the child process can't share the test's memory, so what it was sent has to be seen on the
 * wire. The front forwards every request to the emulator (rewriting the emulator's origin to its own
 * in both directions), and so it can
 * - record every access token issued and every bearer token presented (for the secret scan),
 * - replace or edit answers (hostile listings and blobs) without teaching the emulator about them,
 * - pass transport faults through faithfully: an upstream reset resets the client's connection, a
 *   body cut short upstream is cut short here (same Content-Length announced).
 * Blob bodies stream through untouched; listing/token/metadata answers are buffered and rewritten.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { serverCredentials } from '../../src/emulator/certs';

export type FrontRoute = 'token' | 'listing' | 'blob' | 'subscriptions' | 'other';

export interface FrontRequest {
  method: string;
  /** Path and query as the client sent them. */
  url: URL;
  route: FrontRoute;
  contentType?: string;
  /** For blob requests: the content id in the path. */
  contentId?: string;
  /** How many requests of this route (and content type, for listings) came before this one. */
  seq: number;
}

export interface FrontReply {
  status: number;
  headers?: Record<string, string>;
  body: Buffer | string;
}

export interface FrontHooks {
  /** Answer a request without asking the emulator (undefined: forward it). */
  replace?(r: FrontRequest): FrontReply | undefined;
  /** Edit a listing the emulator answered 200 (entries already point at the front). */
  listing?(r: FrontRequest, entries: unknown[], headers: Record<string, string>): FrontReply | undefined;
  /** Headers to add to a token endpoint answer with this status (e.g. Retry-After on 503). */
  tokenHeaders?(status: number): Record<string, string> | undefined;
}

export interface Front {
  url: string;
  /** Access tokens the token endpoint issued, and bearer tokens clients presented. */
  readonly tokens: Set<string>;
  /** Token endpoint answers with status 200. */
  readonly tokensIssued: number;
  readonly requests: Record<FrontRoute, number>;
  hooks: FrontHooks;
  stop(): Promise<void>;
}

/** A loopback TCP server that only counts connections: "no request reaches that host". */
export interface ConnectionRecorder {
  url: string;
  readonly connections: number;
  stop(): Promise<void>;
}

export async function startConnectionRecorder(): Promise<ConnectionRecorder> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = net.createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function classify(u: URL): { route: FrontRoute; contentType?: string; contentId?: string } {
  const p = u.pathname.split('/').filter(Boolean);
  if (p[1] === 'oauth2' && p[p.length - 1] === 'token') return { route: 'token' };
  if (p[0] === 'api' && p[3] === 'activity' && p[4] === 'feed') {
    if (p[5] === 'audit') return { route: 'blob', contentId: decodeURIComponent(p.slice(6).join('/')) };
    if (p[5] === 'subscriptions' && p[6] === 'content') {
      let ct: string | undefined;
      for (const [k, v] of u.searchParams) if (k.toLowerCase() === 'contenttype') ct = v;
      return { route: 'listing', contentType: ct };
    }
    if (p[5] === 'subscriptions') return { route: 'subscriptions' };
  }
  return { route: 'other' };
}

export async function startFront(emu: { url: string; ca?: string }): Promise<Front> {
  const creds = serverCredentials();
  const upstream = new URL(emu.url);
  const agent = new https.Agent({ keepAlive: true, ca: emu.ca, maxSockets: 64 });
  const tokens = new Set<string>();
  const requests: Record<FrontRoute, number> = { token: 0, listing: 0, blob: 0, subscriptions: 0, other: 0 };
  const listingSeq = new Map<string, number>();
  const sockets = new Set<Socket>();
  const server = https.createServer({ key: creds.keyPem, cert: creds.certPem });
  server.keepAliveTimeout = 5000;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `https://127.0.0.1:${port}`;
  const up = { host: upstream.host, enc: encodeURIComponent(upstream.host) };
  const me = { host: `127.0.0.1:${port}`, enc: encodeURIComponent(`127.0.0.1:${port}`) };
  const toUp = (s: string) => s.split(me.host).join(up.host).split(me.enc).join(up.enc);
  const toMe = (s: string) => s.split(up.host).join(me.host).split(up.enc).join(me.enc);

  let tokensIssued = 0;
  const front: Front = {
    url,
    tokens,
    get tokensIssued() {
      return tokensIssued;
    },
    requests,
    hooks: {},
    async stop() {
      agent.destroy();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };

  const reply = (res: http.ServerResponse, r: FrontReply) => {
    const body = typeof r.body === 'string' ? Buffer.from(r.body) : r.body;
    res.writeHead(r.status, { 'Content-Type': 'application/json; charset=utf-8', ...r.headers, 'Content-Length': body.length });
    res.end(body);
  };

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', url);
      const c = classify(u);
      requests[c.route]++;
      const key = `${c.route}|${c.contentType ?? ''}`;
      const seq = listingSeq.get(key) ?? 0;
      listingSeq.set(key, seq + 1);
      const fr: FrontRequest = { method: req.method ?? 'GET', url: u, route: c.route, contentType: c.contentType, contentId: c.contentId, seq };
      const auth = req.headers.authorization;
      if (auth && /^Bearer\s+/i.test(auth)) tokens.add(auth.replace(/^Bearer\s+/i, '').trim());
      const replaced = front.hooks.replace?.(fr);
      if (replaced) return reply(res, replaced);

      const body = Buffer.from(toUp(Buffer.concat(chunks).toString('utf8')));
      const headers: http.OutgoingHttpHeaders = { ...req.headers, host: up.host };
      delete headers['content-length'];
      if (body.length) headers['content-length'] = body.length;
      const upReq = https.request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent },
        (upRes) => {
          const status = upRes.statusCode ?? 502;
          const h: Record<string, string> = {};
          for (const [k, v] of Object.entries(upRes.headers)) if (v !== undefined) h[k] = toMe(Array.isArray(v) ? v[0] : String(v));
          if (c.route === 'blob') {
            // Stream: a body cut short upstream is cut short here too.
            res.writeHead(status, h);
            upRes.on('aborted', () => res.destroy());
            upRes.on('error', () => res.destroy());
            upRes.on('close', () => {
              if (!upRes.complete) res.socket?.destroy();
            });
            upRes.pipe(res);
            return;
          }
          const parts: Buffer[] = [];
          upRes.on('data', (d: Buffer) => parts.push(d));
          upRes.on('error', () => res.socket?.destroy());
          upRes.on('end', () => {
            if (!upRes.complete) return void res.socket?.destroy();
            let text = toMe(Buffer.concat(parts).toString('utf8'));
            if (c.route === 'token' && status === 200) {
              tokensIssued++;
              try {
                const t = (JSON.parse(text) as { access_token?: string }).access_token;
                if (t) tokens.add(t);
              } catch {
                /* not JSON: nothing to record */
              }
            }
            delete h['content-length'];
            if (c.route === 'token') Object.assign(h, front.hooks.tokenHeaders?.(status));
            if (c.route === 'listing' && status === 200 && front.hooks.listing) {
              try {
                const entries = JSON.parse(text) as unknown[];
                const edited = front.hooks.listing(fr, entries, h);
                if (edited) return reply(res, edited);
              } catch {
                /* leave it as it came */
              }
            }
            const b = Buffer.from(text);
            text = '';
            res.writeHead(status, { ...h, 'content-length': String(b.length) });
            res.end(b);
          });
        },
      );
      // The emulator reset the connection (a fault knob): so does the front.
      upReq.on('error', () => res.socket?.destroy());
      upReq.end(body);
    });
  });
  return front;
}
