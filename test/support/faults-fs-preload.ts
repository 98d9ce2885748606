/**
 * Preloaded into the bridge's child process (NODE_OPTIONS=--require) by the fault suite to make its
 * state directory behave like a read-only or full file system. Tests usually run as root, where
 * chmod can't make a directory read-only, and mounting a tiny file system needs privileges CI lacks.
 *
 * Environment:
 *   FAULTS_FS_DIR    the state directory (only paths inside it are affected)
 *   FAULTS_FS_ERRNO  EROFS (every change fails: read-only) or ENOSPC (new data fails: disk full)
 *   FAULTS_FS_AFTER  checkpoint writes that still succeed before the fault starts (default 0)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const dir = process.env.FAULTS_FS_DIR ? path.resolve(process.env.FAULTS_FS_DIR) : undefined;
const errno = process.env.FAULTS_FS_ERRNO === 'ENOSPC' ? 'ENOSPC' : 'EROFS';
let allowed = Number(process.env.FAULTS_FS_AFTER ?? '0');

function inside(p: unknown): boolean {
  if (!dir || (typeof p !== 'string' && !(p instanceof URL))) return false;
  const abs = path.resolve(String(p instanceof URL ? p.pathname : p));
  return abs === dir || abs.startsWith(dir + path.sep);
}

let announced = false;

function fail(syscall: string, p: unknown): Promise<never> {
  // Tells the test when the fault began (it compares with what the receiver got afterwards).
  if (!announced) {
    announced = true;
    process.stderr.write(`FAULTS_FS: first ${errno} injected\n`);
  }
  const message = errno === 'ENOSPC' ? 'no space left on device' : 'read-only file system';
  const e = Object.assign(new Error(`${errno}: ${message}, ${syscall} '${String(p)}'`), { code: errno, errno: errno === 'ENOSPC' ? -28 : -30, syscall, path: String(p) });
  return Promise.reject(e);
}

/** Whether a write to `p` fails now: checkpoint writes use up the allowance, the lock only fails when read-only. */
function failsNow(p: unknown): boolean {
  if (!inside(p)) return false;
  const base = path.basename(String(p));
  if (base.startsWith('checkpoint.')) {
    if (allowed > 0) {
      allowed--;
      return false;
    }
    return true;
  }
  return errno === 'EROFS' || allowed <= 0;
}

const p = fs.promises as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
const orig = { open: p.open, writeFile: p.writeFile, link: p.link, rename: p.rename, mkdir: p.mkdir };

p.open = function (file: unknown, flags?: unknown, ...rest: unknown[]) {
  const writing = typeof flags === 'string' && /[wa+]/.test(flags);
  if (writing && failsNow(file)) return fail('open', file);
  return orig.open.call(this, file, flags, ...rest);
};
p.writeFile = function (file: unknown, ...rest: unknown[]) {
  if (failsNow(file)) return fail('open', file);
  return orig.writeFile.call(this, file, ...rest);
};
p.link = function (from: unknown, to: unknown) {
  if (errno === 'EROFS' && inside(to)) return fail('link', to);
  return orig.link.call(this, from, to);
};
p.rename = function (from: unknown, to: unknown) {
  if (errno === 'EROFS' && inside(to)) return fail('rename', to);
  return orig.rename.call(this, from, to);
};
p.mkdir = function (file: unknown, ...rest: unknown[]) {
  if (errno === 'EROFS' && inside(file) && !fs.existsSync(String(file))) return fail('mkdir', file);
  return orig.mkdir.call(this, file, ...rest);
};
