/**
 * The typed configuration the rest of the bridge consumes: what src/config/schema.json describes, with
 * defaults applied, relative paths made absolute, secrets resolved to strings and PEM files read.
 * Hand-written to match the schema (test/config checks that every schema key appears here by name).
 */
import type { ContentType, ValidationMode } from '../contracts';
import type { Level } from '../obs/log';

export type Cloud = 'commercial' | 'gcc' | 'gccHigh' | 'dod' | 'custom';

export interface SecretCredential {
  kind: 'secret';
  clientSecret: string;
}

export interface CertificateCredential {
  kind: 'certificate';
  /** Absolute paths, for messages. */
  keyFile: string;
  certFile: string;
  /** PEM text of the private key and of the certificate (checked to parse and to match each other). */
  privateKeyPem: string;
  certificatePem: string;
  /** Upper-case hex, no separators (what msal-node's `thumbprint` / `thumbprintSha256` take). */
  thumbprintSha1: string;
  thumbprintSha256: string;
  sendX5c: boolean;
}

export interface TenantConfig {
  id: string;
  /** Label for logs and metrics; the tenant id when not configured. */
  name: string;
  cloud: Cloud;
  /** Set for cloud `custom` (required) or as an override of the cloud's table; otherwise undefined. */
  authorityUrl?: string;
  apiUrl?: string;
  clientId: string;
  credential: SecretCredential | CertificateCredential;
  contentTypes: ContentType[];
  /** PublisherIdentifier for every request; the tenant id when not configured. */
  publisherId: string;
}

export interface HttpConfig {
  /** Absolute path and PEM text of extra CA certificates. */
  caFile?: string;
  ca?: string;
  proxy?: string;
  noProxy: string[];
  timeoutSeconds: number;
  maxBlobMB: number;
  requestsPerMinute: number;
}

export interface PollConfig {
  intervalSeconds: number;
  initialLookbackHours: number;
  trailingWindowMinutes: number;
  /** Minutes between reconciliation sweeps over the whole reachable retention. */
  reconcileIntervalMinutes: number;
  blobConcurrency: number;
  tenantConcurrency: number;
  /** Seconds a blob failing with a non-retryable answer is retried (once a pass) before it is recorded lost. */
  blobGiveUpSeconds: number;
  once: boolean;
}

export interface SinkTlsConfig {
  enabled: boolean;
  caFile?: string;
  ca?: string;
  servername?: string;
  rejectUnauthorized: boolean;
}

export interface SinkConfig {
  type: 'forward' | 'stdout' | 'stdio';
  host: string;
  port: number;
  tls: SinkTlsConfig;
  sharedKey?: string;
  username?: string;
  password?: string;
  ackTimeoutSeconds: number;
  maxBatchBytes: number;
  maxBatchEvents: number;
  maxInFlightBatches: number;
}

export interface Config {
  /** Absolute path of the file the config came from. */
  sourceFile: string;
  tenants: TenantConfig[];
  http: HttpConfig;
  poll: PollConfig;
  sink: SinkConfig;
  tagPrefix: string;
  /** Event shape: the record as sent (raw) or an ECS document (src/shape/ecs). */
  format: 'raw' | 'ecs';
  validation: { mode: ValidationMode };
  /** Absolute path. */
  stateDir: string;
  dedup: { recordIds: number };
  log: { level: Level };
  metrics: { enabled: boolean; host: string; port: number };
}

/** A secret as written in the file. */
export type SecretRef = { env: string } | { file: string };

/** The file's content after schema validation and defaults, before secrets and files are resolved. */
export interface RawConfig {
  tenants: Array<{
    id: string;
    name?: string;
    cloud: Cloud;
    authorityUrl?: string;
    apiUrl?: string;
    clientId: string;
    clientSecret?: SecretRef;
    certificate?: { keyFile: string; certFile: string; sendX5c: boolean };
    contentTypes: ContentType[];
    publisherId?: string;
  }>;
  http: Omit<HttpConfig, 'ca'>;
  poll: PollConfig;
  sink: Omit<SinkConfig, 'sharedKey' | 'password' | 'tls'> & {
    tls: Omit<SinkTlsConfig, 'ca'>;
    sharedKey?: SecretRef;
    password?: SecretRef;
  };
  tagPrefix: string;
  format: 'raw' | 'ecs';
  validation: { mode: ValidationMode };
  stateDir: string;
  dedup: { recordIds: number };
  log: { level: Level };
  metrics: { enabled: boolean; host: string; port: number };
}
