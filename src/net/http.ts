/**
 * The one HTTP stack every outbound call uses (API calls and MSAL's token requests alike), so a
 * custom CA, a proxy and timeouts apply everywhere. axios' own proxy handling is switched off:
 * we pick the agent per destination ourselves so NO_PROXY is honoured for each request.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as tls from 'node:tls';
import axios, { type AxiosInstance, type InternalAxiosRequestConfig } from 'axios';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { registerSecret } from '../obs/log';
import { BridgeError, redactUri } from '../errors';

export interface HttpStackOptions {
  /** Extra trusted CA certificate(s), PEM; added to (not replacing) Node's built-in roots. */
  caPem?: string;
  /** Proxy for HTTPS traffic; default the HTTPS_PROXY / https_proxy environment variable. */
  proxyUrl?: string;
  /** Hosts that bypass the proxy (NO_PROXY syntax); default the NO_PROXY / no_proxy environment variable. */
  noProxy?: string;
  /** Per-request timeout (connect + idle socket), ms. Default 60 s. */
  timeoutMs?: number;
  /** Environment to read proxy settings from (tests); default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface HttpStack {
  /** Configured axios instance: no automatic proxy, no redirects, statuses left to the caller. */
  readonly axios: AxiosInstance;
  readonly timeoutMs: number;
  /** The proxy URL (redacted) a request to `url` goes through, or null when it goes direct. */
  proxyFor(url: string): string | null;
  /** Destroys pooled keep-alive sockets. */
  close(): void;
}

export const DEFAULT_TIMEOUT_MS = 60_000;

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

export function createHttpStack(opts: HttpStackOptions = {}): HttpStack {
  const env = opts.env ?? process.env;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const proxyUrl = opts.proxyUrl ?? env.HTTPS_PROXY ?? env.https_proxy ?? undefined;
  const noProxy = opts.noProxy ?? env.NO_PROXY ?? env.no_proxy ?? undefined;
  const ca = opts.caPem ? [...tls.rootCertificates, opts.caPem] : undefined;

  // One secure context, built once: with `ca` in the agent options, Node's https.Agent concatenates the
  // whole CA list (~200 KB with the bundled roots) into its pool key on every request, and builds a new
  // context per connection — a third of the bridge's CPU in the fault suite's profile.
  const secureContext = ca ? tls.createSecureContext({ ca }) : undefined;
  const tlsOpts = { keepAlive: true, maxSockets: 32, maxFreeSockets: 8, ...(secureContext ? { secureContext } : {}) };
  const direct = new https.Agent(tlsOpts);
  const directHttp = new http.Agent({ keepAlive: true, maxSockets: 32, maxFreeSockets: 8 });
  let proxied: HttpsProxyAgent<string> | undefined;
  let proxyShown: string | null = null;
  if (proxyUrl) {
    let p: URL;
    try {
      p = new URL(proxyUrl);
    } catch {
      throw new BridgeError('CONFIG_INVALID', 'The proxy URL is not a valid URL: set proxy.url or HTTPS_PROXY to http(s)://host:port.');
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

  const proxyFor = (url: string): string | null => (proxied && !bypassesProxy(url, noProxy) ? proxyShown : null);

  const instance = axios.create({
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
    return cfg;
  });

  return {
    axios: instance,
    timeoutMs,
    proxyFor,
    close() {
      direct.destroy();
      directHttp.destroy();
      proxied?.destroy();
    },
  };
}
