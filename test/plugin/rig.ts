/**
 * Shared by the stdio-sink CLI test and the Fluentd plugin suite: an in-process emulator (HTTPS, its
 * own CA) with one tenant, a bridge config file pointing at it, and the ledger's answer to "which
 * record Ids should have arrived", per content type up to the cursor the bridge saved (content after
 * the cursor is "not yet", not lost), as the fault suite counts.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator';

const HOUR = 3_600_000;
export const RIG_SECRET = 'plugin-Client-Secret-7c1e9a3f52b8';
export const CLI = path.resolve(__dirname, '../../src/cli.js');
/** The real receivers, where this machine has them (a user's fresh clone has not). */
export const RECEIVERS = path.resolve(__dirname, '../../../../shared/receivers');
export const PLUGIN_DIR = path.resolve(__dirname, '../../../fluent-plugin');

export interface RigOptions {
  contentTypes?: string[];
  recordsPerHour?: number;
  historyHours?: number;
  emulator?: Partial<EmulatorOptions>;
}

export class Rig {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'o365fb-plugin-'));
  readonly stateDir = path.join(this.dir, 'state');
  readonly configFile = path.join(this.dir, 'bridge.json');
  readonly tenantId = randomUUID();
  readonly clientId = randomUUID();
  readonly startedAt = Date.now();
  contentTypes: string[];
  historyHours: number;
  emu!: Emulator;
  config: Record<string, unknown> = {};

  private constructor(private readonly o: RigOptions) {
    this.contentTypes = o.contentTypes ?? ['Audit.General', 'Audit.Exchange'];
    this.historyHours = o.historyHours ?? 3;
  }

  static async start(name: string, o: RigOptions = {}): Promise<Rig> {
    const r = new Rig(o);
    r.emu = await startEmulator({
      https: true,
      seed: name,
      profile: 'clean',
      historyHours: r.historyHours,
      recordsPerBlob: 10,
      // Throttling is not what these tests look at (the fault suite does): a budget that never bites.
      requestsPerMinute: 1_000_000,
      recordsPerHour: Object.fromEntries(r.contentTypes.map((ct) => [ct, o.recordsPerHour ?? 100])),
      ...o.emulator,
      tenants: [{ tenantId: r.tenantId, clientId: r.clientId, clientSecret: RIG_SECRET }],
    });
    fs.writeFileSync(path.join(r.dir, 'ca.pem'), r.emu.ca!);
    r.config = {
      tenants: [
        {
          id: r.tenantId,
          name: 't0',
          cloud: 'custom',
          authorityUrl: r.emu.url,
          apiUrl: r.emu.url,
          clientId: r.clientId,
          clientSecret: { env: 'RIG_CLIENT_SECRET' },
          contentTypes: r.contentTypes,
        },
      ],
      http: { caFile: 'ca.pem', timeoutSeconds: 15, requestsPerMinute: 60000 },
      poll: { initialLookbackHours: r.historyHours + 2, trailingWindowMinutes: 30, blobConcurrency: 4, intervalSeconds: 10 },
      // The sink section is the forward default: the plugin must override it to stdio.
      sink: { type: 'forward', port: 1, ackTimeoutSeconds: 5 },
      stateDir: 'state',
      log: { level: 'info' },
    };
    r.writeConfig();
    return r;
  }

  writeConfig(): void {
    fs.writeFileSync(this.configFile, JSON.stringify(this.config, null, 2));
  }

  checkpoint(contentType: string): { cursor: string | null } | null {
    const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0'));
    const f = path.join(this.stateDir, `checkpoint.${safe(this.tenantId)}.${safe(contentType)}.json`);
    if (!fs.existsSync(f)) return null;
    return JSON.parse(fs.readFileSync(f, 'utf8')) as { cursor: string | null };
  }

  /** Every content type's cursor at or past the start of the run (the history is all listed and acked). */
  caughtUp(): boolean {
    return this.contentTypes.every((ct) => {
      const c = this.checkpoint(ct)?.cursor;
      return !!c && Date.parse(c) >= this.startedAt - 60_000;
    });
  }

  /** Record Ids the source offered up to each saved cursor. */
  expectedIds(): Set<string> {
    const from = this.startedAt - (this.historyHours + 1) * HOUR;
    const ids = new Set<string>();
    for (const ct of this.contentTypes) {
      const c = this.checkpoint(ct)?.cursor;
      if (!c) continue;
      const to = Date.parse(c);
      const ok = this.emu.ledger.recordIds(this.tenantId, from, to, { contentType: ct, asOf: to });
      for (const id of [...ok.valid, ...ok.invalid]) ids.add(id);
    }
    return ids;
  }

  async close(): Promise<void> {
    await this.emu?.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function waitUntil(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
