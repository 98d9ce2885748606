/**
 * The operations listener: /metrics (Prometheus), /healthz (liveness), /readyz (readiness).
 * Off by default; the bridge starts it only when the config asks for it. Binds to 127.0.0.1 unless told
 * otherwise, because the metrics name tenants and nothing here is authenticated.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BridgeError } from '../errors';
import type { Metrics } from './metrics';

export interface Readiness {
  ready: boolean;
  /** Why not ready (e.g. "tenant X: not authenticated", "receiver unreachable"); empty when ready. */
  reasons: string[];
  /** Per tenant, the last pass's health (the same words as `status` and the exit code of `run --once`). */
  tenants?: Array<{ id: string; name: string; health: string; code?: string; message?: string }>;
}

export interface ObsServerOptions {
  host?: string;
  /** 0 picks a free port (tests). */
  port: number;
  metrics: Pick<Metrics, 'text' | 'contentType'>;
  /** Called on every /readyz; must be cheap (report state the pipeline already keeps, don't probe). */
  readiness: () => Readiness | Promise<Readiness>;
  /** Connection limits (tests make them small); defaults MAX_CONNECTIONS, HEADERS_TIMEOUT_MS, IDLE_TIMEOUT_MS. */
  limits?: { maxConnections?: number; headersTimeoutMs?: number; idleTimeoutMs?: number };
}

export interface ObsServer {
  readonly host: string;
  readonly port: number;
  /** e.g. http://127.0.0.1:9464 */
  readonly url: string;
  close(): Promise<void>;
}

/** Connections served at once; more are closed on arrival (Prometheus and two probes need a handful). */
export const MAX_CONNECTIONS = 32;
/** A request's headers must arrive within this. */
export const HEADERS_TIMEOUT_MS = 5000;
/** A connection idle this long is closed. */
export const IDLE_TIMEOUT_MS = 10_000;

export async function startObsServer(opts: ObsServerOptions): Promise<ObsServer> {
  const host = opts.host ?? '127.0.0.1';
  const server = http.createServer((req, res) => {
    void handle(req, res, opts).catch(() => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    });
  });
  // Scraping must never starve the pipeline of file descriptors: a bounded number of connections,
  // each closed when idle or slow to send its request. Probes and scrapers need little of either.
  const idleMs = opts.limits?.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
  const headersMs = opts.limits?.headersTimeoutMs ?? HEADERS_TIMEOUT_MS;
  server.maxConnections = opts.limits?.maxConnections ?? MAX_CONNECTIONS;
  server.keepAliveTimeout = Math.min(5000, idleMs);
  server.headersTimeout = headersMs;
  server.requestTimeout = Math.max(headersMs, Math.min(10000, idleMs));
  server.maxHeadersCount = 50;
  server.on('connection', (socket) => {
    // A connection that never sends a byte is not covered by headersTimeout until a request starts.
    socket.setTimeout(idleMs, () => socket.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(
        new BridgeError('CONFIG_INVALID', `cannot listen on ${host}:${opts.port} for metrics/health (${err.code ?? err.message}); choose another port or host`, {
          details: { host, port: opts.port, errno: err.code },
          cause: err,
        }),
      );
    };
    server.once('error', onError);
    server.listen(opts.port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });

  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    host,
    port,
    url: `http://${urlHost}:${port}`,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse, opts: ObsServerOptions): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    return;
  }
  switch (path) {
    case '/metrics': {
      const body = await opts.metrics.text();
      send(res, 200, opts.metrics.contentType, body);
      return;
    }
    case '/healthz':
      // Liveness only: if the event loop answers, the process is alive. Readiness problems must not restart it.
      send(res, 200, 'application/json', JSON.stringify({ status: 'ok' }) + '\n');
      return;
    case '/readyz': {
      let r: Readiness;
      try {
        r = await opts.readiness();
      } catch {
        r = { ready: false, reasons: ['readiness check failed'] };
      }
      const ready = r.ready === true;
      send(res, ready ? 200 : 503, 'application/json', JSON.stringify({ ready, reasons: r.reasons ?? [], ...(r.tenants ? { tenants: r.tenants } : {}) }) + '\n');
      return;
    }
    default:
      send(res, 404, 'text/plain; charset=utf-8', 'not found; try /metrics, /healthz or /readyz\n');
  }
}

function send(res: http.ServerResponse, status: number, contentType: string, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
