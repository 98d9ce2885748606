/**
 * axios' Node build requires `form-data` when it loads, and form-data pulls in mime-types (the whole
 * mime-db JSON), combined-stream, asynckit and the es-* / get-intrinsic shims: about 1.5 MiB of RSS
 * and 1–2.5 MiB of live heap (issue 17) for multipart bodies the bridge never sends. Imported by
 * net/http.ts before axios, this puts a stand-in where axios' `require('form-data')` finds it (the
 * module cache, under the path Node resolves it to from axios), which loads the real module the first
 * time something builds a form: axios only does `new FormData()` (toFormData, or a multipart body),
 * so the stand-in's constructor returns a real instance and every later check sees the real class.
 * If form-data or axios cannot be found where expected, nothing is done and axios loads it as before.
 */
import Module = require('node:module');

type Ctor = new (...args: unknown[]) => object;

/** Where axios' `require('form-data')` resolves to, or null if it does not (nothing is installed then). */
function formDataPath(): string | null {
  try {
    const axiosMain = require.resolve('axios');
    return Module.createRequire(axiosMain).resolve('form-data');
  } catch {
    return null;
  }
}

let real: Ctor | undefined;
let installedAt: string | null = null;

/** The real form-data class, loaded on first use (through the cache entry the stand-in held). */
function loadReal(): Ctor {
  if (real) return real;
  const p = installedAt!;
  const cache = require.cache as Record<string, NodeModule | undefined>;
  // The stand-in leaves the cache so that requiring the path loads the module itself; from then on
  // anyone requiring form-data gets the real one.
  if (cache[p]?.exports === LazyFormData) delete cache[p];
  real = Module.createRequire(p)(p) as Ctor;
  return real;
}

/** Builds a real form-data instance: `new LazyFormData()` is `new (require('form-data'))()`. */
class LazyFormData {
  constructor(...args: unknown[]) {
    const Real = loadReal();
    return new Real(...args);
  }
}

/** Installs the stand-in unless axios is loaded already (then it holds the real module). Idempotent. */
export function installLazyFormData(): boolean {
  if (installedAt) return true;
  const p = formDataPath();
  if (!p) return false;
  const cache = require.cache as Record<string, NodeModule | undefined>;
  if (cache[p]) return false; // loaded already (by axios or anyone): nothing to save
  const m = new Module(p, module) as NodeModule & { loaded: boolean; filename: string };
  m.filename = p;
  m.exports = LazyFormData;
  m.loaded = true;
  cache[p] = m;
  installedAt = p;
  return true;
}

/** For tests: whether the real form-data module has been loaded through the stand-in. */
export function realFormDataLoaded(): boolean {
  return real !== undefined;
}

installLazyFormData();
