/** A tenant's stable cast: users, admins, sites, addresses. Derived once per tenant from (seed, tenant). */
import { Rng, hashString, mix } from '../rand';
import { FIRST_NAMES, LAST_NAMES, ORG_NAMES } from './vocab';

export interface Person {
  upn: string;
  /** Passport-style user key (PUID) as Exchange/SharePoint write it. */
  puid: string;
  objectId: string;
  displayName: string;
}

export interface TenantIdentity {
  tenantId: string;
  /** 32-bit key mixed into every hash for this tenant. */
  key: number;
  domain: string;
  orgName: string;
  /** `contoso` in `contoso.sharepoint.com`. */
  spoName: string;
  users: Person[];
  admins: Person[];
  ipv4: string[];
  ipv6: string[];
  siteIds: string[];
  webIds: string[];
  /** Defender/Office app ids seen in AppAccessContext. */
  appIds: string[];
}

const USERS = 120;

export function generatedDomain(seedHash: number, index: number): string {
  const name = ORG_NAMES[mix(seedHash, 0xd0, index) % ORG_NAMES.length];
  return `${name}${index === 0 ? '' : index + 1}.onmicrosoft.com`;
}

export function tenantIdentity(tenantId: string, domain: string, seedHash: number): TenantIdentity {
  const key = mix(seedHash, hashString(tenantId.toLowerCase()));
  const rng = new Rng(key);
  const orgName = domain.split('.')[0];
  const users: Person[] = [];
  const seen = new Set<string>();
  for (let i = 0; users.length < USERS && i < USERS * 4; i++) {
    const first = rng.pick(FIRST_NAMES);
    const last = rng.pick(LAST_NAMES);
    let local = `${first}.${last}`;
    if (seen.has(local)) local = `${first}.${last}${rng.range(2, 99)}`;
    if (seen.has(local)) continue;
    seen.add(local);
    users.push({
      upn: `${local}@${domain}`,
      puid: '1003' + rng.hex(12, true),
      objectId: rng.guid(),
      displayName: `${cap(first)} ${cap(last)}`,
    });
  }
  const admins = users.slice(0, 4).map((u) => ({ ...u, upn: 'admin.' + u.upn }));
  const ipv4: string[] = [];
  for (let i = 0; i < 40; i++) ipv4.push(publicIpv4(rng));
  const ipv6: string[] = [];
  for (let i = 0; i < 10; i++) {
    const g = (): string => (rng.next() & 0xffff).toString(16);
    ipv6.push(`2a01:${g()}:${g()}:${g()}::${g()}`);
  }
  const siteIds = Array.from({ length: 8 }, () => rng.guid());
  const webIds = Array.from({ length: 8 }, () => rng.guid());
  const appIds = Array.from({ length: 6 }, () => rng.guid());
  return { tenantId, key, domain, orgName, spoName: orgName, users, admins, ipv4, ipv6, siteIds, webIds, appIds };
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** A public-looking IPv4 address (documentation ranges mixed with ordinary ones; never RFC 1918). */
export function publicIpv4(rng: Rng): string {
  const firsts = [20, 40, 51, 52, 77, 81, 86, 91, 104, 131, 145, 176, 185, 193, 203, 213];
  return `${rng.pick(firsts)}.${rng.range(1, 254)}.${rng.range(0, 255)}.${rng.range(1, 254)}`;
}
