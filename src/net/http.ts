/**
 * The one HTTP stack every outbound call uses (API calls and MSAL's token requests alike), so a
 * custom CA, a proxy and deadlines apply everywhere. axios' own proxy handling is switched off:
 * we pick the agent per destination ourselves so NO_PROXY is honoured for each request.
 *
 * Deadlines: axios' `timeout` is a socket-idle timer, which a server trickling one byte every few
 * seconds never trips, and which it drops once the headers of a streamed response arrive. So every
 * request also gets a wall-clock deadline over the whole response (headers and body; for a streamed
 * body, up to its headers: the body is watched by `watchBody`), and ends on the stack's stop signal.
 *
 * Proxy: as curl, npm and the Azure SDKs read it: `http.proxy` (with `http.noProxy`), else
 * HTTPS_PROXY / https_proxy (with NO_PROXY / no_proxy and `http.noProxy`); loopback always goes direct.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as tls from 'node:tls';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream';
// axios without form-data (loaded only if a form is ever built) and without undici (never used).
import axios from './axios-quiet';
import type { AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { registerSecret } from '../obs/log';
import { BridgeError, redactUri } from '../errors';

export interface HttpStackOptions {
  /** Extra trusted CA certificate(s), PEM; added to (not replacing) Node's built-in roots. */
  caPem?: string;
  /** Proxy for HTTPS traffic; when unset (or empty), the HTTPS_PROXY / https_proxy environment variable. */
  proxyUrl?: string;
  /** Hosts that bypass the proxy (NO_PROXY syntax), in addition to the NO_PROXY / no_proxy environment variable. */
  noProxy?: string;
  /** Deadline of one request, ms: connect, headers and whole body (a streamed body: see `bodyTimeoutMs`). Default 60 s. */
  timeoutMs?: number;
  /** Ends every request of this stack at once (the bridge's shutdown). */
  signal?: AbortSignal;
  /** Environment to read proxy settings from (tests); default process.env. */
  env?: NodeJS.ProcessEnv;
  /**
   * Share the connection pool (agents, so keep-alive sockets and TLS sessions) with every other stack
   * of the same CA and proxy that asks for it: the tenants of one bridge. Default false (a pool of its own).
   */
  sharePool?: boolean;
  /** A pooled keep-alive socket idle this long is closed, ms. Default IDLE_SOCKET_MS. */
  idleSocketMs?: number;
}

export interface HttpStack {
  /** Configured axios instance: no automatic proxy, no redirects, statuses left to the caller. */
  readonly axios: AxiosInstance;
  readonly timeoutMs: number;
  /** Longest a streamed body may take (counting only the time its reader waits for the network): 10 × timeoutMs. */
  readonly bodyTimeoutMs: number;
  /** Where the proxy came from: the config, the environment, or none. */
  readonly proxySource: 'config' | 'env' | 'none';
  /** The proxy URL (redacted) a request to `url` goes through, or null when it goes direct. */
  proxyFor(url: string): string | null;
  /** Destroys pooled keep-alive sockets (of a shared pool: once the last stack sharing it closes). Idempotent. */
  close(): void;
}

export const DEFAULT_TIMEOUT_MS = 60_000;
/** A streamed body must bring at least this many bytes in every `timeoutMs` its reader waits (curl's low-speed limit). */
export const MIN_BODY_BYTES_PER_INTERVAL = 1024;
/** A streamed body's total budget, in multiples of timeoutMs. */
export const BODY_TIMEOUT_FACTOR = 10;

/** A transport error for a missed deadline: mapped to API_TIMEOUT / AUTH_UNAVAILABLE by its code, carries no request config. */
export function deadlineError(what: string): Error {
  return Object.assign(new Error(`timeout: ${what}`), { code: 'ETIMEDOUT' });
}

const DEADLINE = Symbol('o365fb.deadline');
interface DeadlineState {
  timer: NodeJS.Timeout;
  timedOut: boolean;
  ms: number;
  release(): void;
}
type WithDeadline = { [DEADLINE]?: DeadlineState };

/**
 * Watches a streamed response body: fails it (destroying `raw` with an ETIMEDOUT error) when, while
 * its reader is waiting for data (the stream flowing, i.e. not held back by our own backpressure),
 * fewer than `minBytes` arrive in `idleMs`, or the waiting adds up to more than `totalMs`. Time spent
 * paused because the sink is slow is not the server's fault and is not counted.
 */
export function watchBody(
  raw: Readable,
  o: { idleMs: number; totalMs: number; minBytes?: number; what: string; bytes: () => number; onTimeout?: (err: Error) => void },
): () => void {
  const minBytes = o.minBytes ?? MIN_BODY_BYTES_PER_INTERVAL;
  const tickMs = Math.max(10, Math.min(1000, Math.floor(o.idleMs / 4)));
  let windowStart = o.bytes();
  let windowMs = 0;
  let activeMs = 0;
  let last = Date.now();
  const timer = setInterval(() => {
    const t = Date.now();
    const dt = t - last;
    last = t;
    if (raw.readableFlowing !== true || raw.readableLength > 0) return; // held back by our reader
    activeMs += dt;
    windowMs += dt;
    if (activeMs > o.totalMs) return trip(`${o.what}: body not complete after ${Math.round(o.totalMs / 1000)} s`);
    if (windowMs >= o.idleMs) {
      const got = o.bytes() - windowStart;
      if (got < minBytes) return trip(`${o.what}: ${got} bytes in ${Math.round(windowMs / 1000)} s (stalled)`);
      windowMs = 0;
      windowStart = o.bytes();
    }
  }, tickMs);
  timer.unref();
  const stop = () => clearInterval(timer);
  const trip = (why: string) => {
    stop();
    const err = deadlineError(why);
    if (o.onTimeout) o.onTimeout(err);
    else raw.destroy(err);
  };
  finished(raw, stop);
  raw.once('close', stop);
  return stop;
}

/** Loopback never goes through a proxy: a proxy cannot reach our loopback anyway (emulator, tests). */
function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/**
 * NO_PROXY matching as curl and most tools read it: comma/space separated entries, `*` for all,
 * `example.com` and `.example.com` match the host and its subdomains, `host:port` limits to a port.
 */
export function bypassesProxy(url: string, noProxy: string | undefined): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (isLoopback(host)) return true;
  if (!noProxy) return false;
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  for (const raw of noProxy.split(/[\s,]+/)) {
    let entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    let entryPort: string | undefined;
    const m = /^(.*?):(\d+)$/.exec(entry);
    if (m && !entry.includes('::')) {
      entry = m[1];
      entryPort = m[2];
    }
    if (entryPort && entryPort !== port) continue;
    entry = entry.replace(/^\*?\./, '').replace(/^\[|\]$/g, '');
    if (host === entry || host.endsWith('.' + entry)) return true;
  }
  return false;
}

class CaProxyAgent extends HttpsProxyAgent<string> {
  constructor(proxy: string, opts: ConstructorParameters<typeof HttpsProxyAgent<string>>[1], private readonly ca: string[]) {
    super(proxy, opts);
  }
  override connect(req: http.ClientRequest, opts: Parameters<HttpsProxyAgent<string>['connect']>[1]): ReturnType<HttpsProxyAgent<string>['connect']> {
    return super.connect(req, { ...opts, ca: this.ca } as typeof opts);
  }
}

/**
 * One secure context per extra CA, shared by every stack (every tenant has one): each holds its own
 * OpenSSL store of Node's ~140 roots plus the CA, about 0.9 MiB of native memory — 45 MiB for 50
 * tenants when they were built per stack. A context is read-only configuration, safe to share.
 */
const secureContexts = new Map<string, tls.SecureContext>();
function sharedSecureContext(caPem: string): tls.SecureContext {
  let c = secureContexts.get(caPem);
  if (!c) {
    c = tls.createSecureContext({ ca: [...tls.rootCertificates, caPem] });
    secureContexts.set(caPem, c);
  }
  return c;
}

/**
 * Keep-alive sockets idle longer than this are closed (README, Operations): a little under the 5 s
 * of Node's own servers and agent, so we close first rather than reuse a socket the other side is
 * closing. Busy sockets are reused; a pass that pauses reconnects (TLS sessions are resumed).
 */
export const IDLE_SOCKET_MS = 4_000;
/** Idle keep-alive sockets kept per destination. */
export const MAX_FREE_SOCKETS = 8;
/** Sockets per destination, per stack (a shared pool allows this many for each stack sharing it). */
export const MAX_SOCKETS = 32;

interface Pool {
  direct: https.Agent;
  directHttp: http.Agent;
  proxied?: HttpsProxyAgent<string>;
  proxyShown: string | null;
  /** Drops one stack's hold; the last one out destroys the pooled sockets. */
  release(): void;
  /** Sets the socket cap per destination (MAX_SOCKETS for each stack using the pool). */
  setMaxSockets(n: number): void;
}

interface PoolSpec {
  caPem: string | undefined;
  proxyUrl: string | undefined;
  proxySource: HttpStack['proxySource'];
  idleSocketMs: number;
}

function makePool({ caPem, proxyUrl, proxySource, idleSocketMs }: PoolSpec, onRelease?: () => boolean): Pool {
  const ca = caPem ? [...tls.rootCertificates, caPem] : undefined;
  // One secure context, built once: with `ca` in the agent options, Node's https.Agent concatenates the
  // whole CA list (~200 KB with the bundled roots) into its pool key on every request, and builds a new
  // context per connection — a third of the bridge's CPU in the fault suite's profile.
  const secureContext = caPem ? sharedSecureContext(caPem) : undefined;
  // `timeout` is the idle timeout of a pooled (free) socket: Node's agent destroys it then. A request in
  // progress has its own deadline (below). Each TLS socket holds ~100 KB of native and JS memory.
  const poolOpts = { keepAlive: true, maxSockets: MAX_SOCKETS, maxFreeSockets: MAX_FREE_SOCKETS, timeout: idleSocketMs, scheduling: 'lifo' as const };
  const tlsOpts = { ...poolOpts, ...(secureContext ? { secureContext } : {}) };
  const direct = new https.Agent(tlsOpts);
  const directHttp = new http.Agent(poolOpts);
  let proxied: HttpsProxyAgent<string> | undefined;
  let proxyShown: string | null = null;
  if (proxyUrl) {
    let p: URL;
    try {
      p = new URL(proxyUrl);
    } catch {
      throw new BridgeError('CONFIG_INVALID', `The proxy URL ${proxySource === 'env' ? 'in HTTPS_PROXY ' : ''}is not a valid URL: set http.proxy or HTTPS_PROXY to http(s)://host:port.`);
    }
    // Proxy credentials are secrets too.
    registerSecret(p.password);
    try {
      registerSecret(decodeURIComponent(p.password));
    } catch {
      /* not percent-encoded: registered as is */
    }
    proxyShown = redactUri(`${p.protocol}//${p.host}/`);
    // ca applies to an https:// proxy via the constructor options, and to the tunnelled TLS session
    // with the target via `connect` (HttpsProxyAgent drops agent-level TLS options for the target).
    proxied = ca ? new CaProxyAgent(proxyUrl, tlsOpts, ca) : new HttpsProxyAgent(proxyUrl, tlsOpts);
  }
  return {
    direct,
    directHttp,
    proxied,
    proxyShown,
    release() {
      if (onRelease && !onRelease()) return;
      direct.destroy();
      directHttp.destroy();
      proxied?.destroy();
    },
    setMaxSockets(n: number) {
      // Read by Node's agent on every request: raising or lowering it applies from the next one.
      for (const a of [direct, directHttp, proxied]) if (a) a.maxSockets = n;
    },
  };
}

/**
 * One pool per (CA, proxy) for the stacks that share (every tenant of a bridge talks to the same
 * hosts with the same settings): 50 tenants with pools of their own kept up to 50 × 8 idle TLS
 * sockets between their turns (issue 17: 209 MiB peak). Requests carry their tenant's token in a
 * header; a connection holds no tenant state. The socket cap grows with the stacks sharing (each
 * had MAX_SOCKETS of its own), so one tenant's slow downloads never make another's requests queue.
 */
const pools = new Map<string, { pool: Pool; users: number }>();
function sharedPool(spec: PoolSpec): Pool {
  const key = JSON.stringify([spec.caPem ?? '', spec.proxyUrl ?? '', spec.idleSocketMs]);
  let entry = pools.get(key);
  if (!entry) {
    const e: { pool: Pool; users: number } = {
      users: 0,
      pool: makePool(spec, () => {
        if (--e.users > 0) {
          e.pool.setMaxSockets(MAX_SOCKETS * e.users);
          return false;
        }
        pools.delete(key);
        return true;
      }),
    };
    pools.set(key, (entry = e));
  }
  entry.users++;
  entry.pool.setMaxSockets(MAX_SOCKETS * entry.users);
  return entry.pool;
}

export function createHttpStack(opts: HttpStackOptions = {}): HttpStack {
  const env = opts.env ?? process.env;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const bodyTimeoutMs = timeoutMs * BODY_TIMEOUT_FACTOR;
  // The convention of curl, npm and the Azure SDKs: the config wins, then HTTPS_PROXY / https_proxy.
  const envProxy = env.HTTPS_PROXY || env.https_proxy || undefined;
  const proxyUrl = opts.proxyUrl || envProxy;
  const proxySource: HttpStack['proxySource'] = opts.proxyUrl ? 'config' : envProxy ? 'env' : 'none';
  // A proxy from the config comes with the config's noProxy alone; one from the environment with NO_PROXY too.
  const noProxy = [opts.noProxy, proxySource === 'env' ? env.NO_PROXY ?? env.no_proxy : undefined].filter((x) => x && x.trim()).join(',') || undefined;
  const spec: PoolSpec = { caPem: opts.caPem, proxyUrl, proxySource, idleSocketMs: opts.idleSocketMs ?? IDLE_SOCKET_MS };
  const pool = opts.sharePool ? sharedPool(spec) : makePool(spec);
  const { direct, directHttp, proxied, proxyShown } = pool;

  const proxyFor = (url: string): string | null => (proxied && !bypassesProxy(url, noProxy) ? proxyShown : null);

  const instance = axios.create({
    // Not the fetch adapter: the agents (CA, proxy, keep-alive pool) are the http adapter's, and
    // axios-quiet.ts loads axios without the fetch globals.
    adapter: 'http',
    timeout: timeoutMs,
    proxy: false,
    // A redirect could carry the bearer token to another host: never follow one.
    maxRedirects: 0,
    validateStatus: () => true,
    httpsAgent: direct,
    httpAgent: directHttp,
  });
  instance.interceptors.request.use((cfg: InternalAxiosRequestConfig) => {
    if (proxied && cfg.url && !bypassesProxy(cfg.url, noProxy)) {
      cfg.httpsAgent = proxied;
      cfg.httpAgent = proxied;
    }
    // The wall-clock deadline, and the caller's and the stack's stop signals, through one controller.
    const ms = typeof cfg.timeout === 'number' && cfg.timeout > 0 ? cfg.timeout : timeoutMs;
    const ac = new AbortController();
    const parents = [cfg.signal as AbortSignal | undefined, opts.signal].filter((x): x is AbortSignal => !!x);
    const onParent = () => ac.abort();
    for (const p of parents) {
      if (p.aborted) ac.abort();
      else p.addEventListener('abort', onParent, { once: true });
    }
    const st: DeadlineState = {
      ms,
      timedOut: false,
      timer: setTimeout(() => {
        st.timedOut = true;
        ac.abort();
      }, ms),
      release: () => {
        clearTimeout(st.timer);
        for (const p of parents) p.removeEventListener('abort', onParent);
      },
    };
    st.timer.unref?.();
    cfg.signal = ac.signal;
    (cfg as WithDeadline)[DEADLINE] = st;
    return cfg;
  });
  instance.interceptors.response.use(
    (res: AxiosResponse) => {
      const st = (res.config as WithDeadline)[DEADLINE];
      if (st) {
        const body = res.data as Readable | undefined;
        if (body && typeof (body as Readable).pipe === 'function') {
          // Headers arrived: the body is the reader's to watch (watchBody); a stop still ends it.
          clearTimeout(st.timer);
          finished(body, () => st.release());
        } else {
          st.release();
        }
      }
      return res;
    },
    (err: unknown) => {
      const st = (err as { config?: WithDeadline } | undefined)?.config?.[DEADLINE];
      if (st) {
        st.release();
        if (st.timedOut) throw deadlineError(`no complete response within ${Math.round(st.ms / 1000)} s`);
      }
      throw err;
    },
  );

  let closed = false;
  return {
    axios: instance,
    timeoutMs,
    bodyTimeoutMs,
    proxySource,
    proxyFor,
    close() {
      if (closed) return;
      closed = true;
      pool.release();
    },
  };
}
