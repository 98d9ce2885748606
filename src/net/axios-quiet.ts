/**
 * axios, loaded without Node's WHATWG fetch machinery (issue 17).
 *
 * At load, axios' fetch adapter probes `fetch`, `Request`, `Response`, `ReadableStream`, `FormData`,
 * `Headers`...: in Node 20 each is a lazy global that loads undici, the web streams and worker
 * messaging on first touch, about 4 MiB of RSS for an adapter the bridge never uses (every request
 * goes through the http adapter: net/http.ts sets it). So they are hidden while axios loads and put
 * back as they were, still lazy: `fetch` works as before for any other code that wants it.
 */
import './lazy-form-data'; // before axios too: it requires form-data at load
import type { AxiosStatic } from 'axios';

/** The globals axios reads at load whose first touch loads undici or the web streams. */
export const WEB_GLOBALS = ['fetch', 'Request', 'Response', 'Headers', 'FormData', 'MessageEvent', 'ReadableStream', 'WritableStream', 'TransformStream'] as const;

/** Runs `load` with WEB_GLOBALS set to undefined, then restores each one's own property descriptor (getter, value, or absence). */
export function withoutWebGlobals<T>(load: () => T): T {
  const g = globalThis as Record<string, unknown>;
  const saved = WEB_GLOBALS.map((name) => [name, Object.getOwnPropertyDescriptor(g, name)] as const);
  try {
    for (const [name, d] of saved) if (d === undefined || d.configurable) Object.defineProperty(g, name, { value: undefined, configurable: true, writable: true });
    return load();
  } finally {
    for (const [name, d] of saved) {
      if (d === undefined) delete g[name];
      else if (d.configurable) Object.defineProperty(g, name, d);
    }
  }
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const axios = withoutWebGlobals(() => require('axios') as AxiosStatic);
export default axios;
