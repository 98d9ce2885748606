/**
 * A second HTTPS front, in front of the recording front, for answers the recording front can't give
 * because it answers whole: headers then silence, a body trickling a byte at a time. Everything else
 * is forwarded (origins rewritten both ways, as the recording front does), so the child is configured
 * with this front's URL as its authority and API.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { serverCredentials } from '../../src/emulator/certs';

export type WireRoute = 'token' | 'listing' | 'blob' | 'other';

export interface WireRequest {
  url: URL;
  route: WireRoute;
  /** Requests of this route before this one. */
  seq: number;
}

/** What to do with a request: forward it, or stall / trickle after the headers. */
export type WireAction = 'forward' | 'stall' | { trickleEveryMs: number };

export interface HostileWire {
  url: string;
  readonly requests: Record<WireRoute, number>;
  /** Requests currently held (stalled or trickling). */
  readonly held: number;
  decide: (r: WireRequest) => WireAction;
  /** Edits the headers of a forwarded answer (e.g. a Date header far off). */
  headers: (r: WireRequest, headers: Record<string, string>) => Record<string, string>;
  stop(): Promise<void>;
}

function route(u: URL): WireRoute {
  const p = u.pathname;
  if (/\/oauth2\/(v2\.0\/)?token$/.test(p)) return 'token';
  if (/\/activity\/feed\/subscriptions\/content$/.test(p)) return 'listing';
  if (/\/activity\/feed\/audit\//.test(p)) return 'blob';
  return 'other';
}

export async function startHostileWire(
  upstreamUrl: string,
  ca: string,
  o: { keyPem?: string; certPem?: string; /** The name clients use for this front (e.g. api.test, reached through a proxy). */ publicHostname?: string } = {},
): Promise<HostileWire> {
  const emu = serverCredentials();
  const creds = { keyPem: o.keyPem ?? emu.keyPem, certPem: o.certPem ?? emu.certPem };
  const upstream = new URL(upstreamUrl);
  const agent = new https.Agent({ keepAlive: true, ca, maxSockets: 64 });
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const requests: Record<WireRoute, number> = { token: 0, listing: 0, blob: 0, other: 0 };
  let held = 0;
  const server = https.createServer({ key: creds.keyPem, cert: creds.certPem });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const me = `${o.publicHostname ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}`;
  const swap = (s: string, a: string, b: string) => s.split(a).join(b).split(encodeURIComponent(a)).join(encodeURIComponent(b));
  const wire: HostileWire = {
    url: `https://${me}`,
    requests,
    get held() {
      return held;
    },
    decide: () => 'forward',
    headers: (_r, h) => h,
    async stop() {
      for (const t of timers) clearInterval(t);
      agent.destroy();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', wire.url);
      const r: WireRequest = { url: u, route: route(u), seq: requests[route(u)]++ };
      const action = wire.decide(r);
      if (action !== 'forward') {
        held++;
        res.on('close', () => held--);
        // Headers, a first byte, then nothing (or a byte now and then): the body never completes.
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write(r.route === 'blob' || r.route === 'listing' ? '[' : '{');
        if (action !== 'stall') {
          const t = setInterval(() => res.write(' '), action.trickleEveryMs);
          timers.add(t);
          res.on('close', () => {
            clearInterval(t);
            timers.delete(t);
          });
        }
        return;
      }
      const body = Buffer.from(swap(Buffer.concat(chunks).toString('utf8'), me, upstream.host));
      const headers: http.OutgoingHttpHeaders = { ...req.headers, host: upstream.host };
      delete headers['content-length'];
      // Identity bodies only: the origin is rewritten in them as text.
      delete headers['accept-encoding'];
      if (body.length) headers['content-length'] = body.length;
      const up = https.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent }, (upRes) => {
        const parts: Buffer[] = [];
        upRes.on('data', (d: Buffer) => parts.push(d));
        upRes.on('error', () => res.socket?.destroy());
        upRes.on('end', () => {
          if (!upRes.complete) return void res.socket?.destroy();
          const b = Buffer.from(swap(Buffer.concat(parts).toString('utf8'), upstream.host, me));
          const h: Record<string, string> = {};
          for (const [k, v] of Object.entries(upRes.headers)) if (v !== undefined && k !== 'content-length') h[k] = swap(Array.isArray(v) ? v[0] : String(v), upstream.host, me);
          res.writeHead(upRes.statusCode ?? 502, { ...wire.headers(r, h), 'content-length': String(b.length) });
          res.end(b);
        });
      });
      up.on('error', () => res.socket?.destroy());
      up.end(body);
    });
  });
  return wire;
}
