/**
 * The one place that turns a tenant's config into its HTTP stack, token provider and API client,
 * so `run`, `subscriptions` and anything else talk to Microsoft with the same proxy, CA, cloud
 * endpoints, credentials, timeouts and rate limit.
 */
import { resolveCloud } from './auth/clouds';
import { createTokenProvider, type TenantTokenProvider } from './auth/token-provider';
import type { Config, TenantConfig } from '../../config/types';
import type { Logger } from '../../obs/log';
import { createActivityApi, type ActivityApiOptions, type ActivityClient } from './api/client';
import { createHttpStack, type HttpStack } from '../../net/http';

export interface TenantClient {
  http: HttpStack;
  api: ActivityClient;
  /** The same tokens the API client uses (`doctor` checks authentication on its own). */
  tokens?: TenantTokenProvider;
  close(): void;
}

export function createTenantClient(
  cfg: Pick<Config, 'http'>,
  t: TenantConfig,
  logger: Logger,
  extra: Partial<Pick<ActivityApiOptions, 'maxBlobBytes' | 'clock' | 'metrics' | 'signal' | 'retry' | 'subscriptionStarts'>> = {},
): TenantClient {
  const ep = resolveCloud({ cloud: t.cloud, apiUrl: t.apiUrl, authorityUrl: t.authorityUrl });
  const log = logger.child({ tenant: t.name });
  const http = createHttpStack({
    caPem: cfg.http.ca,
    proxyUrl: cfg.http.proxy,
    noProxy: cfg.http.noProxy.join(','),
    timeoutMs: cfg.http.timeoutSeconds * 1000,
    // Every tenant talks to the same hosts with the same settings: one pool of connections for all.
    sharePool: true,
  });
  const tokens = createTokenProvider({
    tenantId: t.id,
    clientId: t.clientId,
    authority: ep.authority,
    apiRoot: ep.apiRoot,
    secret: t.credential.kind === 'secret' ? t.credential.clientSecret : undefined,
    certificate:
      t.credential.kind === 'certificate'
        ? { privateKeyPem: t.credential.privateKeyPem, certificatePem: t.credential.certificatePem, sendX5c: t.credential.sendX5c }
        : undefined,
    http,
    logger: log.child({ component: 'auth' }),
  });
  const api = createActivityApi({
    tenantId: t.id,
    apiRoot: ep.apiRoot,
    publisherId: t.publisherId,
    tokens,
    http,
    requestsPerMinute: cfg.http.requestsPerMinute,
    maxBlobBytes: cfg.http.maxBlobMB * 1024 * 1024,
    logger: log.child({ component: 'api' }),
    ...extra,
  });
  return { http, api, tokens, close: () => http.close() };
}
