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
import { installStandIn, type StandIn } from './lazy-module';

type Ctor = new (...args: unknown[]) => object;

let standIn: StandIn | null = null;

/** Builds a real form-data instance: `new LazyFormData()` is `new (require('form-data'))()`. */
class LazyFormData {
  constructor(...args: unknown[]) {
    const Real = standIn!.load() as Ctor;
    return new Real(...args);
  }
}

/** Installs the stand-in unless axios is loaded already (then it holds the real module). Idempotent. */
export function installLazyFormData(): boolean {
  if (standIn) return true;
  standIn = installStandIn('axios', 'form-data', LazyFormData);
  return standIn !== null;
}

/** For tests: whether the real form-data module has been loaded through the stand-in. */
export function realFormDataLoaded(): boolean {
  return standIn?.loaded === true;
}

installLazyFormData();
