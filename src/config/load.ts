/**
 * Config file → typed Config: read, parse (YAML or JSON), validate against schema.json (all problems at
 * once, defaults applied), then resolve what lives outside the file (secrets from env/files, PEM files,
 * the state dir). Everything happens before any network call; a bad config is exit code 2 in the CLI.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import Ajv2020 from 'ajv/dist/2020';
import type { ValidateFunction } from 'ajv';
import { parseDocument } from 'yaml';
import { BridgeError } from '../errors';
import { registerSecret } from '../obs/log';
import { configSchema } from './schema';
import { sinkModule } from '../sinks';
import { STDIO_CONFIG_KEYS } from '../sinks/stdio';
import { renderAjvErrors, describeValue } from './problems';
import type { Config, RawConfig, SecretRef, TenantConfig, CertificateCredential } from './types';
import { allocLarge } from '../core/large-buffer';

export type * from './types';

export type ConfigErrorCode = 'CONFIG_INVALID' | 'CONFIG_UNREADABLE' | 'SECRET_UNREADABLE';

/** Largest config file read (a config is a few KiB). */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
/** Largest secret file read (a secret is a line). */
export const MAX_SECRET_BYTES = 64 * 1024;
/** Largest PEM file read (a CA bundle is ~200 KiB). */
export const MAX_PEM_BYTES = 4 * 1024 * 1024;
/** YAML aliases a config may expand (an alias bomb expands exponentially). */
export const MAX_YAML_ALIASES = 100;

/**
 * Reads a file that must be a regular file of at most `max` bytes: a FIFO would block for ever and
 * /dev/zero never ends. Opened non-blocking (a FIFO's open would block too) and checked on the open
 * descriptor, so what is checked is what is read. Throws an Error whose `code` says why.
 */
export function readBoundedFileSync(file: string, max: number): string {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: st.isFIFO() ? 'a FIFO, not a regular file' : st.isDirectory() ? 'EISDIR' : 'not a regular file' });
    if (st.size > max) throw Object.assign(new Error('too large'), { code: `${st.size} bytes, over the ${max}-byte limit` });
    // Reserved, not allocated: only what the file fills is resident (and malloc is not involved, issue 17).
    const buf = allocLarge(max + 1);
    let n = 0;
    for (;;) {
      const r = fs.readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n > max) throw Object.assign(new Error('too large'), { code: `over the ${max}-byte limit` });
    }
    return buf.toString('utf8', 0, n);
  } finally {
    fs.closeSync(fd);
  }
}

/** A config that cannot be used; `problems` holds one line per problem, each naming the file and key path. */
export class ConfigError extends BridgeError {
  readonly problems: string[];
  constructor(code: ConfigErrorCode, sourceName: string, problems: string[]) {
    const n = problems.length;
    super(
      code,
      n === 1 ? problems[0] : `${sourceName}: ${n} problems; fix them and run check-config again`,
      { details: { problems } },
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** The schema itself (for docs generation and tests): schema.json completed from the sink registry. */
export { configSchema };

let compiled: ValidateFunction | undefined;
function validator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv2020({ allErrors: true, useDefaults: true, verbose: true, strict: true, strictRequired: false, allowUnionTypes: true });
    // Annotations read by problems.ts when wording messages; they never affect validity.
    for (const keyword of ['x-expected', 'x-when', 'x-secret']) ajv.addKeyword({ keyword });
    compiled = ajv.compile(configSchema);
  }
  return compiled;
}

/**
 * Validates a parsed config (a deep copy; the argument is not modified) and applies the schema's defaults.
 * Throws ConfigError(CONFIG_INVALID) with every problem found.
 */
export function validateConfigObject(obj: unknown, sourceName: string): RawConfig {
  if (obj === null || obj === undefined || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new ConfigError('CONFIG_INVALID', sourceName, [`${sourceName}: (top level): expected a mapping with at least "tenants"; found ${describeValue(obj ?? undefined)}`]);
  }
  const copy = structuredClone(obj) as Record<string, unknown>;
  const validate = validator();
  if (!validate(copy)) {
    throw new ConfigError('CONFIG_INVALID', sourceName, renderAjvErrors(validate.errors ?? [], copy, sourceName));
  }
  const raw = copy as unknown as RawConfig;
  const problems: string[] = [];
  // Checks a schema can't express: two tenants with one id would share checkpoint files.
  const firstIndex = new Map<string, number>();
  raw.tenants.forEach((t, i) => {
    const id = t.id.toLowerCase();
    const prev = firstIndex.get(id);
    if (prev !== undefined) problems.push(`${sourceName}: tenants[${i}].id: expected a tenant id not used before; found the id of tenants[${prev}]`);
    else firstIndex.set(id, i);
  });
  if (problems.length) throw new ConfigError('CONFIG_INVALID', sourceName, problems);
  return raw;
}

/**
 * Set by a parent that runs the bridge on the user's own file (the Fluentd plugin: `--sink stdio
 * --tag-prefix P`). Applied to the parsed file before validation, so they are checked as the file is,
 * and a replaced sink section's keys (e.g. a forward sharedKey from an unset variable) are not read.
 */
export interface ConfigOverrides {
  sinkType?: string;
  tagPrefix?: string;
}

export function applyConfigOverrides(parsed: unknown, o: ConfigOverrides): unknown {
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return parsed;
  const out = { ...(parsed as Record<string, unknown>) };
  if (o.sinkType !== undefined) {
    const old = out.sink && typeof out.sink === 'object' ? (out.sink as Record<string, unknown>) : {};
    // stdio keeps only the keys that apply to it; another type keeps the section as written.
    const keep: readonly string[] = o.sinkType === 'stdio' ? STDIO_CONFIG_KEYS : Object.keys(old);
    out.sink = { ...Object.fromEntries(Object.entries(old).filter(([k]) => keep.includes(k) && k !== 'type')), type: o.sinkType };
  }
  if (o.tagPrefix !== undefined) out.tagPrefix = o.tagPrefix;
  return out;
}

/** Reads, validates and resolves a config file. `env` is where `{ env: NAME }` secrets are looked up. */
export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env, overrides: ConfigOverrides = {}): Promise<Config> {
  const sourceName = file;
  let text: string;
  try {
    text = readBoundedFileSync(file, MAX_CONFIG_BYTES);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError('CONFIG_UNREADABLE', sourceName, [`${sourceName}: cannot read the config file (${code}); check the path and its permissions`]);
  }
  const parsed = applyConfigOverrides(parseConfigText(text, sourceName), overrides);
  const raw = validateConfigObject(parsed, sourceName);
  return resolveConfig(raw, path.resolve(file), env, sourceName);
}

/** YAML 1.2 (a superset of JSON) with duplicate keys as errors. */
export function parseConfigText(text: string, sourceName: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length) {
    const problems = doc.errors.map((err) => {
      const pos = err.linePos?.[0];
      const msg = err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
      return `${sourceName}${pos ? `:${pos.line}:${pos.col}` : ''}: cannot parse: ${msg}`;
    });
    throw new ConfigError('CONFIG_INVALID', sourceName, problems);
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (e) {
    // The yaml library refuses an alias bomb ("Excessive alias count") and aliases of undefined anchors.
    const why = String((e as Error)?.message ?? e).split('\n')[0];
    const bomb = /alias count/i.test(why);
    throw new ConfigError('CONFIG_INVALID', sourceName, [
      bomb
        ? `${sourceName}: cannot parse: YAML aliases expand too much (over ${MAX_YAML_ALIASES} alias uses); write the values out instead of nesting aliases`
        : `${sourceName}: cannot parse: ${why.slice(0, 200)}`,
    ]);
  }
}

interface Collector {
  invalid: string[];
  secret: string[];
}

function readSecret(ref: SecretRef, where: string, baseDir: string, env: NodeJS.ProcessEnv, c: Collector): string | undefined {
  if ('env' in ref) {
    const v = env[ref.env];
    if (v === undefined || v === '') {
      c.secret.push(`${where}: environment variable ${ref.env} is ${v === undefined ? 'not set' : 'empty'}; set it to the secret`);
      return undefined;
    }
    registerSecret(v);
    return v;
  }
  const p = path.resolve(baseDir, ref.file);
  try {
    const v = readBoundedFileSync(p, MAX_SECRET_BYTES).replace(/\r?\n$/, '');
    if (v === '') {
      c.secret.push(`${where}: secret file ${p} is empty`);
      return undefined;
    }
    registerSecret(v);
    return v;
  } catch (e) {
    c.secret.push(`${where}: cannot read secret file ${p} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
}

function readPemFile(file: string, where: string, baseDir: string, sink: string[]): { path: string; text?: string } {
  const p = path.resolve(baseDir, file);
  try {
    return { path: p, text: readBoundedFileSync(p, MAX_PEM_BYTES) };
  } catch (e) {
    sink.push(`${where}: cannot read ${p} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    return { path: p };
  }
}

function readCaFile(file: string | undefined, where: string, baseDir: string, c: Collector): { caFile?: string; ca?: string } {
  if (file === undefined) return {};
  const r = readPemFile(file, where, baseDir, c.invalid);
  if (r.text !== undefined && !r.text.includes('-----BEGIN CERTIFICATE-----')) {
    c.invalid.push(`${where}: expected PEM certificates (-----BEGIN CERTIFICATE-----) in ${r.path}; found none`);
    return { caFile: r.path };
  }
  return { caFile: r.path, ca: r.text };
}

function hexOf(fingerprint: string): string {
  return fingerprint.replace(/:/g, '').toUpperCase();
}

function readCertificate(
  cert: NonNullable<RawConfig['tenants'][number]['certificate']>,
  where: string,
  baseDir: string,
  c: Collector,
): CertificateCredential | undefined {
  const key = readPemFile(cert.keyFile, `${where}.keyFile`, baseDir, c.secret);
  const crt = readPemFile(cert.certFile, `${where}.certFile`, baseDir, c.secret);
  let keyObj: ReturnType<typeof createPrivateKey> | undefined;
  let x509: X509Certificate | undefined;
  if (key.text !== undefined) {
    try {
      keyObj = createPrivateKey(key.text);
      registerSecret(key.text);
    } catch {
      c.secret.push(`${where}.keyFile: ${key.path} is not an unencrypted PEM private key`);
    }
  }
  if (crt.text !== undefined) {
    try {
      x509 = new X509Certificate(crt.text);
    } catch {
      c.secret.push(`${where}.certFile: ${crt.path} is not a PEM certificate`);
    }
  }
  if (!keyObj || !x509 || key.text === undefined || crt.text === undefined) return undefined;
  if (!x509.checkPrivateKey(keyObj)) {
    c.secret.push(`${where}: the key in ${key.path} does not belong to the certificate in ${crt.path}`);
    return undefined;
  }
  return {
    kind: 'certificate',
    keyFile: key.path,
    certFile: crt.path,
    privateKeyPem: key.text,
    certificatePem: crt.text,
    thumbprintSha1: hexOf(x509.fingerprint),
    thumbprintSha256: hexOf(x509.fingerprint256),
    sendX5c: cert.sendX5c,
  };
}

function checkStateDir(dir: string, where: string, c: Collector): void {
  try {
    const st = fs.statSync(dir);
    if (!st.isDirectory()) c.invalid.push(`${where}: expected a directory; found a file at ${dir}`);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return; // created by the checkpoint store
    if (code === 'ENOTDIR') c.invalid.push(`${where}: expected a directory; found a file on the way to ${dir}`);
    else c.invalid.push(`${where}: cannot inspect ${dir} (${code ?? 'error'})`);
  }
}

/** Resolves secrets and files of a validated config. `sourceFile` is absolute; relative paths are taken from its directory. */
export function resolveConfig(raw: RawConfig, sourceFile: string, env: NodeJS.ProcessEnv, sourceName = sourceFile): Config {
  const baseDir = path.dirname(sourceFile);
  const c: Collector = { invalid: [], secret: [] };
  const at = (p: string) => `${sourceName}: ${p}`;

  const tenants: TenantConfig[] = raw.tenants.map((t, i) => {
    const where = at(`tenants[${i}]`);
    let credential: TenantConfig['credential'] | undefined;
    if (t.clientSecret) {
      const s = readSecret(t.clientSecret, `${where}.clientSecret`, baseDir, env, c);
      if (s !== undefined) credential = { kind: 'secret', clientSecret: s };
    } else if (t.certificate) {
      credential = readCertificate(t.certificate, `${where}.certificate`, baseDir, c);
    }
    const out: TenantConfig = {
      id: t.id,
      name: t.name ?? t.id,
      cloud: t.cloud,
      clientId: t.clientId,
      // Placeholder only when a problem was recorded (then this Config is never returned).
      credential: credential ?? { kind: 'secret', clientSecret: '' },
      contentTypes: t.contentTypes,
      publisherId: t.publisherId ?? t.id,
    };
    if (t.authorityUrl !== undefined) out.authorityUrl = t.authorityUrl.replace(/\/+$/, '');
    if (t.apiUrl !== undefined) out.apiUrl = t.apiUrl.replace(/\/+$/, '');
    return out;
  });

  const httpCa = readCaFile(raw.http.caFile, at('http.caFile'), baseDir, c);
  if (raw.http.proxy) {
    try {
      const u = new URL(raw.http.proxy);
      if (u.password) registerSecret(decodeURIComponent(u.password));
    } catch {
      /* the schema's pattern already vetted the shape */
    }
  }
  const sinkCa = readCaFile(raw.sink.tls.caFile, at('sink.tls.caFile'), baseDir, c);
  const sharedKey = raw.sink.sharedKey ? readSecret(raw.sink.sharedKey, at('sink.sharedKey'), baseDir, env, c) : undefined;
  const password = raw.sink.password ? readSecret(raw.sink.password, at('sink.password'), baseDir, env, c) : undefined;

  const stateDir = path.resolve(baseDir, raw.stateDir);
  checkStateDir(stateDir, at('stateDir'), c);

  if (c.invalid.length || c.secret.length) {
    throw new ConfigError(c.invalid.length ? 'CONFIG_INVALID' : 'SECRET_UNREADABLE', sourceName, [...c.invalid, ...c.secret]);
  }

  const { sharedKey: _sk, password: _pw, tls, ...sinkRest } = raw.sink;
  const config: Config = {
    sourceFile,
    tenants,
    http: { ...raw.http, ...httpCa },
    poll: { ...raw.poll },
    sink: { ...sinkRest, tls: { ...tls, ...sinkCa } },
    tagPrefix: raw.tagPrefix,
    format: raw.format,
    validation: { ...raw.validation },
    stateDir,
    dedup: { ...raw.dedup },
    log: { ...raw.log },
    metrics: { ...raw.metrics },
  };
  if (sharedKey !== undefined) config.sink.sharedKey = sharedKey;
  if (password !== undefined) config.sink.password = password;
  return config;
}

/** One line describing a loaded config, without secrets (for check-config and the startup log). */
export function summarizeConfig(cfg: Config): string {
  const n = cfg.tenants.length;
  const sink = sinkModule(cfg.sink.type).describe(cfg.sink);
  return `ok: ${n} tenant${n === 1 ? '' : 's'} (${cfg.tenants.map((t) => t.name).join(', ')}), ${sink}, state ${cfg.stateDir}`;
}
