/**
 * The subscription start log: when the bridge last asked Microsoft to start a (tenant, content type)
 * subscription, and when it may ask again. Microsoft requires 15 minutes between start requests and
 * answers HTTP 429 ("Too many frequent subscription start requests. Please retry again after 14m 56s")
 * otherwise; the log lives in the state dir (`subscriptions.json`) so a restart, a crash loop or a
 * `--once` schedule does not ask again too soon.
 *
 * A garbled file is not worth stopping for: the worst a lost log costs is one early start request,
 * which the API refuses with 429 and the client treats as "wait". It is then started over (warned).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from './checkpoint';

export const SUBSCRIPTIONS_FILE = 'subscriptions.json';

export interface StartEntry {
  /** When the last start request was sent (ms since epoch). */
  requestedAt: number;
  /** No start request before this instant (ms since epoch). */
  notBefore: number;
  /** What came back: `started`, `already-enabled`, `wait`, `refused`, `sent` (no answer yet). */
  outcome: string;
}

/** What the API client needs (structural: the client does not import the state layer). */
export interface StartLog {
  get(tenantId: string, contentType: string): StartEntry | undefined;
  /** Remembers an attempt; resolves once it is durable (it is written before the request is sent). */
  put(tenantId: string, contentType: string, e: StartEntry): Promise<void>;
}

interface FileShape {
  version: 1;
  starts: Record<string, { requestedAt: string; notBefore: string; outcome: string }>;
}

const key = (tenantId: string, contentType: string) => `${tenantId.toLowerCase()}|${contentType}`;

/** In memory only (tests, the `subscriptions` command). */
export class MemoryStartLog implements StartLog {
  protected readonly map = new Map<string, StartEntry>();

  get(tenantId: string, contentType: string): StartEntry | undefined {
    return this.map.get(key(tenantId, contentType));
  }

  async put(tenantId: string, contentType: string, e: StartEntry): Promise<void> {
    this.map.set(key(tenantId, contentType), { ...e });
  }
}

/** Persisted in `<stateDir>/subscriptions.json`. Entries older than a day are dropped on save. */
export class FileStartLog extends MemoryStartLog {
  readonly file: string;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    stateDir: string,
    private readonly onProblem: (msg: string) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {
    super();
    this.file = path.join(path.resolve(stateDir), SUBSCRIPTIONS_FILE);
  }

  async load(): Promise<void> {
    let text: string;
    try {
      text = await fs.promises.readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      this.onProblem(`cannot read ${this.file} (${(e as NodeJS.ErrnoException).code ?? 'error'}); subscription start times start over`);
      return;
    }
    try {
      const o = JSON.parse(text) as FileShape;
      if (o?.version !== 1 || !o.starts || typeof o.starts !== 'object') throw new Error('shape');
      for (const [k, v] of Object.entries(o.starts)) {
        const requestedAt = Date.parse(v?.requestedAt);
        const notBefore = Date.parse(v?.notBefore);
        if (!Number.isFinite(requestedAt) || !Number.isFinite(notBefore) || typeof v.outcome !== 'string') continue;
        this.map.set(k, { requestedAt, notBefore, outcome: v.outcome });
      }
    } catch {
      this.onProblem(`${this.file} is not a valid start log; subscription start times start over`);
    }
  }

  override async put(tenantId: string, contentType: string, e: StartEntry): Promise<void> {
    await super.put(tenantId, contentType, e);
    const next = this.chain.catch(() => undefined).then(() => this.save());
    this.chain = next;
    await next;
  }

  private async save(): Promise<void> {
    const horizon = this.now() - 24 * 3_600_000;
    const starts: FileShape['starts'] = {};
    for (const [k, v] of this.map) {
      if (v.notBefore < horizon && v.requestedAt < horizon) continue;
      starts[k] = { requestedAt: new Date(v.requestedAt).toISOString(), notBefore: new Date(v.notBefore).toISOString(), outcome: v.outcome };
    }
    const body: FileShape = { version: 1, starts };
    await writeFileAtomic(this.file, JSON.stringify(body, null, 1) + '\n');
  }
}
