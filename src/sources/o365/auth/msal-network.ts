/**
 * MSAL's `system.networkClient` over the project's HTTP stack, so the proxy, NO_PROXY and custom
 * CA settings apply to token requests exactly as to API calls. It also remembers the last
 * transport failure / status so the token provider can tell "unreachable, retry" from "refused".
 */
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import type { HttpStack } from '../../../net/http';
import { redactUri } from '../../../errors';

export interface ObservedNetwork {
  lastStatus?: number;
  lastTransportError?: { code: string; uri: string };
}

function flatHeaders(h: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h || typeof h !== 'object') return out;
  const src = typeof (h as { toJSON?: unknown }).toJSON === 'function' ? (h as { toJSON(): Record<string, unknown> }).toJSON() : (h as Record<string, unknown>);
  for (const [k, v] of Object.entries(src)) {
    if (v === undefined || v === null) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  return out;
}

function parseBody(text: unknown, status: number, url: string): unknown {
  if (typeof text !== 'string') return text ?? {};
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    // MSAL reads `error`/`error_description` from the body: give it one that names the URI.
    return { error: 'invalid_response', error_description: `non-JSON response (HTTP ${status}) from ${redactUri(url)}` };
  }
}

export function createMsalNetworkClient(http: HttpStack, observed: ObservedNetwork): INetworkModule {
  const send = async <T>(method: 'GET' | 'POST', url: string, options?: NetworkRequestOptions, timeout?: number): Promise<NetworkResponse<T>> => {
    observed.lastStatus = undefined;
    observed.lastTransportError = undefined;
    try {
      const res = await http.axios.request({
        method,
        url,
        headers: options?.headers,
        data: method === 'POST' ? options?.body ?? '' : undefined,
        timeout: timeout && timeout > 0 ? Math.min(timeout, http.timeoutMs) : http.timeoutMs,
        responseType: 'text',
        transformResponse: [(d: unknown) => d],
        maxContentLength: 1024 * 1024,
      });
      observed.lastStatus = res.status;
      return { headers: flatHeaders(res.headers), body: parseBody(res.data, res.status, url) as T, status: res.status };
    } catch (err) {
      const e = err as { code?: string; name?: string };
      observed.lastTransportError = { code: e.code ?? e.name ?? 'error', uri: redactUri(url) };
      // Rethrow something without the request config (which carries the client assertion/secret).
      throw new Error(`token endpoint unreachable (${observed.lastTransportError.code})`);
    }
  };
  return {
    sendGetRequestAsync: <T>(url: string, options?: NetworkRequestOptions, timeout?: number) => send<T>('GET', url, options, timeout),
    sendPostRequestAsync: <T>(url: string, options?: NetworkRequestOptions) => send<T>('POST', url, options),
  };
}
