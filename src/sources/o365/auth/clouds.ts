/**
 * The clouds the Management Activity API reference names, with the hosts it documents
 * (reference sheet §1.1). Anything else (other sovereign clouds, the emulator, proxies, private
 * endpoints) is a `custom` cloud with explicit URLs: we don't invent hosts.
 */
import { BridgeError } from '../../../errors';

export type CloudName = 'commercial' | 'gcc' | 'gccHigh' | 'dod';

export interface CloudEndpoints {
  /** Management Activity API root, also the OAuth resource (scope `{apiRoot}/.default`). */
  apiRoot: string;
  /** Entra ID login authority (without tenant). */
  authority: string;
}

export const CLOUDS: Readonly<Record<CloudName, Readonly<CloudEndpoints>>> = Object.freeze({
  commercial: Object.freeze({ apiRoot: 'https://manage.office.com', authority: 'https://login.microsoftonline.com' }),
  gcc: Object.freeze({ apiRoot: 'https://manage-gcc.office.com', authority: 'https://login.microsoftonline.com' }),
  gccHigh: Object.freeze({ apiRoot: 'https://manage.office365.us', authority: 'https://login.microsoftonline.us' }),
  dod: Object.freeze({ apiRoot: 'https://manage.protection.apps.mil', authority: 'https://login.microsoftonline.us' }),
});

export const CLOUD_NAMES = Object.freeze([...(Object.keys(CLOUDS) as CloudName[]), 'custom'] as const);

function normaliseUrl(value: string, what: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new BridgeError('CONFIG_INVALID', `${what} is not a valid URL: give an absolute https:// URL.`);
  }
  if (u.protocol !== 'https:') {
    throw new BridgeError('CONFIG_INVALID', `${what} must use https:// (the bearer token must not travel in clear).`);
  }
  if (u.username || u.password || u.search || u.hash) {
    throw new BridgeError('CONFIG_INVALID', `${what} must not carry credentials, a query or a fragment.`);
  }
  return u.toString().replace(/\/+$/, '');
}

/**
 * Endpoints for a configured cloud. `custom` needs both URLs; for a named cloud, `apiUrl` and
 * `authorityUrl` override its table entry one by one (a proxy or private endpoint in front of it).
 * Whatever the source, URLs must be https without credentials.
 */
export function resolveCloud(cfg: { cloud: string; apiUrl?: string; authorityUrl?: string }): CloudEndpoints {
  if (cfg.cloud === 'custom') {
    if (!cfg.apiUrl || !cfg.authorityUrl) {
      throw new BridgeError('CONFIG_INVALID', 'cloud "custom" needs both apiUrl and authorityUrl.');
    }
    return { apiRoot: normaliseUrl(cfg.apiUrl, 'apiUrl'), authority: normaliseUrl(cfg.authorityUrl, 'authorityUrl') };
  }
  if (!Object.prototype.hasOwnProperty.call(CLOUDS, cfg.cloud)) {
    throw new BridgeError('CONFIG_INVALID', `unknown cloud "${cfg.cloud}": use one of ${CLOUD_NAMES.join(', ')}.`);
  }
  const known = CLOUDS[cfg.cloud as CloudName];
  return {
    apiRoot: cfg.apiUrl ? normaliseUrl(cfg.apiUrl, 'apiUrl') : known.apiRoot,
    authority: cfg.authorityUrl ? normaliseUrl(cfg.authorityUrl, 'authorityUrl') : known.authority,
  };
}
