/**
 * The last pass's verdict per tenant, kept in the state directory (`health.json`) by `run` so that
 * `status`, a separate process, says what `/readyz` and the exit code said. It is observability,
 * not delivery state: losing it loses nothing but the display, and no checkpoint depends on it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TenantHealth, Verdict } from './exit-codes';

export const HEALTH_FILE = 'health.json';

export interface HealthFile {
  version: 1;
  /** When the pass finished (ISO). */
  at: string;
  exitCode: number;
  tenants: TenantHealth[];
  receiver?: { code: string; message: string };
}

export function toHealthFile(v: Verdict, at: string): HealthFile {
  return { version: 1, at, exitCode: v.exitCode, tenants: v.tenants, ...(v.receiver ? { receiver: v.receiver } : {}) };
}

/** Write then rename, so a reader never sees half a file. The temp name carries the checkpoint store's temp mark, which it cleans up. */
export async function writeHealthFile(stateDir: string, h: HealthFile): Promise<void> {
  const file = path.join(stateDir, HEALTH_FILE);
  const tmp = `${file}.tmp-${process.pid}`;
  await fs.promises.writeFile(tmp, JSON.stringify(h, null, 2) + '\n', { mode: 0o600 });
  await fs.promises.rename(tmp, file);
}

/** The file, or null when absent or unreadable (an old bridge, or no pass finished yet). */
export async function readHealthFile(stateDir: string): Promise<HealthFile | null> {
  try {
    const h = JSON.parse(await fs.promises.readFile(path.join(stateDir, HEALTH_FILE), 'utf8')) as HealthFile;
    return h && h.version === 1 && Array.isArray(h.tenants) ? h : null;
  } catch {
    return null;
  }
}
