/** Tenant specs → resolved tenants (generated ids and secrets where missing), deterministic per seed. */
import { Rng, guidFromHash, mix } from './rand';
import { ROLE_READ, ROLE_READ_DLP } from './authority';
import { generatedDomain } from './records/identity';
import type { EmulatorTenantSpec, ResolvedTenant } from './types';

const SECRET_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.~';

/** Shaped like an Entra client secret value (`xxx8Q~` + 34 characters). */
function secret(rng: Rng): string {
  let s = '';
  for (let i = 0; i < 3; i++) s += SECRET_CHARS[rng.int(62)];
  s += '8Q~';
  for (let i = 0; i < 34; i++) s += SECRET_CHARS[rng.int(SECRET_CHARS.length)];
  return s;
}

export function resolveTenants(spec: EmulatorTenantSpec[] | number | undefined, seedHash: number): ResolvedTenant[] {
  const list: EmulatorTenantSpec[] =
    typeof spec === 'number' || spec === undefined
      ? Array.from({ length: spec ?? 1 }, (_, i) => ({
          tenantId: guidFromHash(mix(seedHash, 0x7e4a, i)),
          clientId: guidFromHash(mix(seedHash, 0xc11e, i)),
        }))
      : spec;
  if (list.length === 0) throw new Error('emulator: at least one tenant is needed');
  const seen = new Set<string>();
  return list.map((t, i) => {
    const tenantId = t.tenantId.toLowerCase();
    if (seen.has(tenantId)) throw new Error(`emulator: tenant ${t.tenantId} given twice`);
    seen.add(tenantId);
    const rng = new Rng(mix(seedHash, 0x5ec7, i));
    return {
      ...t,
      tenantId,
      clientSecret: t.clientSecret ?? secret(rng),
      domain: t.domain ?? generatedDomain(seedHash, i),
      roles: t.roles ?? [ROLE_READ, ROLE_READ_DLP],
    };
  });
}
