/**
 * A stand-in in Node's module cache for a module a dependency requires when it loads but uses only on
 * a path the bridge seldom takes (issue 17: resident memory at start). The dependency's `require`
 * finds the stand-in; the stand-in loads the real module the first time it is used. Used for axios'
 * form-data (lazy-form-data.ts) and msal-node's jsonwebtoken (sources/o365/auth/lazy-jwt.ts).
 */
import Module = require('node:module');

export interface StandIn {
  /** The real module (loaded on the first call; later calls return the same exports). */
  load(): unknown;
  /** Whether the real module has been loaded through the stand-in. */
  readonly loaded: boolean;
}

/**
 * Puts `exports` where `request`, required from the package `from`, resolves. Null (nothing done)
 * when either cannot be found, or when the module is loaded already: then whoever loaded it holds the
 * real one, and there is nothing to save.
 */
export function installStandIn(from: string, request: string, exports: unknown): StandIn | null {
  let p: string;
  try {
    p = Module.createRequire(require.resolve(from)).resolve(request);
  } catch {
    return null;
  }
  const cache = require.cache as Record<string, NodeModule | undefined>;
  if (cache[p]) return null;
  const m = new Module(p, module) as NodeModule & { loaded: boolean; filename: string };
  m.filename = p;
  m.exports = exports;
  m.loaded = true;
  cache[p] = m;
  let real: unknown;
  let loaded = false;
  return {
    get loaded() {
      return loaded;
    },
    load() {
      if (!loaded) {
        // The stand-in leaves the cache so that requiring the path loads the module itself; from then
        // on anyone requiring it gets the real one.
        if (cache[p]?.exports === exports) delete cache[p];
        real = Module.createRequire(p)(p);
        loaded = true;
      }
      return real;
    },
  };
}
