/**
 * The content plan: which blobs exist for a tenant × content type × hour slot, when each became
 * available, how many records it holds and which data faults it carries. Everything is a pure
 * function of (seed, tenant, content type, slot, blob index, faults), so a week of history costs
 * nothing until asked for, and a content id alone is enough to regenerate its blob.
 */
import { Lru } from './lru';
import { fmix, guidFromWords, hex32, mix, unit } from './rand';
import { HOUR_MS, RETENTION_MS, hourStamp } from './time';
import type { TenantIdentity } from './records/identity';
import { EMULATOR_CONTENT_TYPES, type EmulatorContentType, type Faults } from './types';

export interface BlobMeta {
  tenant: TenantIdentity;
  ct: number;
  contentType: EmulatorContentType;
  slot: number;
  index: number;
  contentId: string;
  contentCreated: number;
  visibleAt: number;
  contentExpiration: number;
  /** Records generated for this blob (without the duplicated one). */
  baseCount: number;
  late: boolean;
  /** The late-listing fault: listable hours to days after contentCreated. */
  lateListed: boolean;
  listedTwice: boolean;
  duplicateRecord: boolean;
  expired: boolean;
}

export interface CatalogConfig {
  seedHash: number;
  recordsPerHour: Record<EmulatorContentType, number>;
  recordsPerBlob: number;
  varyVolume: boolean;
  /** Start of the first hour slot that has content. */
  historyStart: number;
  faults(): Faults;
}

/** Workload codes inside content ids (`...aad2015062920$...`, `...spo2015043022$...` in the docs' samples). */
const CT_CODES = ['aad', 'exo', 'spo', 'gen', 'dlp'] as const;

const CONTENT_ID_RE = /^(\d{12})\$(\d{12})\$([0-9a-f]{32})(aad|exo|spo|gen|dlp)(\d{10})\$([0-9a-f]{32})\$04$/;

// Salts keep the independent decisions about one blob uncorrelated.
const S_VOLUME = 0x51;
const S_TIME = 0x52;
const S_LATE = 0x53;
const S_DUPLIST = 0x54;
const S_DUPREC = 0x55;
const S_EXPIRED = 0x56;
const S_MAC = 0x57;
const S_INVALID = 0x58;
const S_LATENCY = 0x59;
const S_LATELIST = 0x5a;
const S_LATELIST_DELAY = 0x5b;

export function contentTypeIndex(name: string): number {
  return (EMULATOR_CONTENT_TYPES as readonly string[]).indexOf(name);
}

export type ContentIdCheck =
  | { kind: 'ok'; blob: BlobMeta }
  | { kind: 'invalid' }
  | { kind: 'missing' };

export class Catalog {
  private readonly cache = new Lru<string, BlobMeta[]>(4096);

  constructor(private readonly cfg: CatalogConfig) {}

  /** Forget cached plans (data faults changed). */
  reset(): void {
    this.cache.clear();
  }

  get historyStart(): number {
    return this.cfg.historyStart;
  }

  /** Records in one slot: exactly the rate, or a day curve with jitter. */
  private slotVolume(t: TenantIdentity, ct: number, slot: number): number {
    const rate = this.cfg.recordsPerHour[EMULATOR_CONTENT_TYPES[ct]] ?? 0;
    if (rate <= 0) return 0;
    if (!this.cfg.varyVolume) return Math.round(rate);
    const hourOfDay = slot % 24;
    const day = 1 + 0.5 * Math.cos((2 * Math.PI * (hourOfDay - 14)) / 24);
    const jitter = 0.85 + 0.3 * unit(mix(this.cfg.seedHash, t.key, ct, slot, S_VOLUME));
    return Math.max(0, Math.round(rate * day * jitter));
  }

  slotBlobs(t: TenantIdentity, ct: number, slot: number): BlobMeta[] {
    if (slot * HOUR_MS < this.cfg.historyStart) return [];
    const key = `${t.key}:${ct}:${slot}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const n = this.slotVolume(t, ct, slot);
    const per = Math.max(1, this.cfg.recordsPerBlob);
    const count = n === 0 ? 0 : Math.ceil(n / per);
    const f = this.cfg.faults();
    const out: BlobMeta[] = [];
    const slotStart = slot * HOUR_MS;
    for (let i = 0; i < count; i++) {
      const h = (salt: number): number => unit(mix(this.cfg.seedHash ^ salt, t.key, ct, slot, i));
      // Spread through the hour, in index order, on whole seconds (listing times carry .000Z).
      const created = slotStart + Math.floor(((i + 0.1 + 0.8 * h(S_TIME)) / count) * 3600) * 1000;
      const late = h(S_LATE) < f.lateContentRate;
      const lateListed = h(S_LATELIST) < f.lateListingRate;
      let visibleAt = late ? created + f.lateDelayMs : created;
      if (lateListed) {
        const lo = Math.max(0, f.lateListingMinMs);
        const hi = Math.max(lo, f.lateListingMaxMs);
        // Whole seconds, like every other listing time.
        const delay = Math.floor((lo + h(S_LATELIST_DELAY) * (hi - lo)) / 1000) * 1000;
        visibleAt = Math.max(visibleAt, created + delay, f.lateListingNotBefore);
      }
      const baseCount = Math.floor(n / count) + (i < n % count ? 1 : 0);
      out.push({
        tenant: t,
        ct,
        contentType: EMULATOR_CONTENT_TYPES[ct],
        slot,
        index: i,
        contentId: this.contentId(t, ct, slot, i),
        contentCreated: created,
        visibleAt,
        contentExpiration: created + RETENTION_MS,
        baseCount,
        late,
        lateListed,
        listedTwice: h(S_DUPLIST) < f.duplicateListingRate,
        duplicateRecord: i > 0 && h(S_DUPREC) < f.duplicateRecordRate,
        expired: h(S_EXPIRED) < f.expiredContentRate,
      });
    }
    this.cache.set(key, out);
    return out;
  }

  /** Blobs with contentCreated in [start, end) that are listable at `asOf`, in contentCreated order. */
  windowBlobs(t: TenantIdentity, ct: number, start: number, end: number, asOf: number): BlobMeta[] {
    const out: BlobMeta[] = [];
    const first = Math.max(Math.floor(start / HOUR_MS), Math.floor(this.cfg.historyStart / HOUR_MS));
    const last = Math.floor((end - 1) / HOUR_MS);
    for (let slot = first; slot <= last; slot++) {
      for (const b of this.slotBlobs(t, ct, slot)) {
        if (b.contentCreated >= start && b.contentCreated < end && b.visibleAt <= asOf) out.push(b);
      }
    }
    return out;
  }

  /** The blob a duplicated record is copied from (the previous blob of the same slot). */
  previousBlob(b: BlobMeta): BlobMeta | undefined {
    return b.index > 0 ? this.slotBlobs(b.tenant, b.ct, b.slot)[b.index - 1] : undefined;
  }

  private macWords(t: TenantIdentity, ct: number, slot: number, i: number): [number, number, number] {
    const s = this.cfg.seedHash;
    return [mix(s ^ S_MAC, t.key, ct, slot, i), mix(s ^ (S_MAC << 8), t.key, ct, slot, i), mix(s ^ (S_MAC << 16), t.key, ct, slot, i)];
  }

  contentId(t: TenantIdentity, ct: number, slot: number, i: number): string {
    const [m1, m2, m3] = this.macWords(t, ct, slot, i);
    const a = String(mix(m1, 1)).padStart(10, '0') + String(m2 % 100).padStart(2, '0');
    const tenantHex = t.tenantId.replace(/-/g, '').toLowerCase();
    return `${a}$${a}$${tenantHex}${CT_CODES[ct]}${hourStamp(slot * HOUR_MS)}$${hex32(i)}${hex32(m1)}${hex32(m2)}${hex32(m3)}$04`;
  }

  /** Structural check first (AF20052), then existence for this tenant (AF20050). */
  resolveContentId(t: TenantIdentity, contentId: string): ContentIdCheck {
    const m = CONTENT_ID_RE.exec(contentId);
    if (!m) return { kind: 'invalid' };
    const [, a1, a2, tenantHex, code, stamp, body] = m;
    if (a1 !== a2) return { kind: 'invalid' };
    const slotMs = Date.UTC(+stamp.slice(0, 4), +stamp.slice(4, 6) - 1, +stamp.slice(6, 8), +stamp.slice(8, 10));
    if (Number.isNaN(slotMs) || hourStamp(slotMs) !== stamp) return { kind: 'invalid' };
    if (tenantHex !== t.tenantId.replace(/-/g, '').toLowerCase()) return { kind: 'missing' };
    const ct = (CT_CODES as readonly string[]).indexOf(code);
    const slot = slotMs / HOUR_MS;
    const index = parseInt(body.slice(0, 8), 16);
    if (this.contentId(t, ct, slot, index) !== contentId) return { kind: 'missing' };
    const blob = this.slotBlobs(t, ct, slot)[index];
    return blob ? { kind: 'ok', blob } : { kind: 'missing' };
  }

  /**
   * A record's Id: unique per tenant by construction (slot, content type, blob and record index are
   * encoded under a per-tenant mask), random-looking elsewhere.
   */
  recordId(b: BlobMeta, k: number): string {
    const s = this.cfg.seedHash;
    const t = b.tenant.key;
    const a = mix(s, t, b.ct, b.slot, b.index ^ (k << 16));
    const bw = mix(a, k, 0x77);
    const maskC = mix(s ^ 0x99, t, 1);
    const maskD = mix(s ^ 0x99, t, 2);
    // A two-round Feistel and bijective scrambles: still unique, but every digit looks random.
    const dRaw = maskD ^ (((b.slot & 0xfffff) << 12) | (b.ct << 9) | ((b.index >>> 7) & 0x1ff));
    const cRaw = ((b.index & 0x7f) << 21) | (k & 0x1fffff);
    const c1 = cRaw ^ (mix(dRaw, maskC) & 0xfffffff);
    const d1 = dRaw ^ mix(c1, maskD);
    return guidFromWords(a, bw, scramble28(c1), fmix(d1));
  }

  isInvalid(b: BlobMeta, k: number): boolean {
    const rate = this.cfg.faults().invalidRecordRate;
    return rate > 0 && unit(mix(this.cfg.seedHash ^ S_INVALID, b.tenant.key, b.ct, b.slot, b.index * 2_097_152 + k)) < rate;
  }

  /** How long before its blob's contentCreated a record was created (2–90 minutes). */
  recordLatencyMs(b: BlobMeta, k: number): number {
    const u = unit(mix(this.cfg.seedHash ^ S_LATENCY, b.tenant.key, b.ct, b.slot, b.index * 2_097_152 + k));
    return 120_000 + Math.floor(u * 88 * 60_000);
  }
}

/** A bijection on 28-bit integers (odd multiplications and xor-shifts, each invertible mod 2^28). */
function scramble28(x: number): number {
  const M = 0xfffffff;
  x &= M;
  x = Math.imul(x, 0x9e3779b1) & M;
  x ^= x >>> 15;
  x = Math.imul(x, 0x85ebca6b) & M;
  x ^= x >>> 13;
  return x & M;
}
