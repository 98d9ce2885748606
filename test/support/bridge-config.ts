/** Builds a real Config (through the same schema and loader as `run`) that points at an emulator and a receiver. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveConfig, validateConfigObject } from '../../src/config/load';
import type { Config } from '../../src/config/types';

export interface TestEnv {
  dir: string;
  cleanup(): void;
}

export function tempDir(prefix = 'o365fb-test-'): TestEnv {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function makeConfig(
  emu: { url: string; ca?: string; tenants: Array<{ tenantId: string; clientId: string; clientSecret: string }> },
  receiverPort: number | null,
  dir: string,
  overrides: Record<string, unknown> = {},
  tenantOverrides: Record<string, unknown> = {},
): Config {
  const caFile = path.join(dir, 'ca.pem');
  if (emu.ca) fs.writeFileSync(caFile, emu.ca);
  const env: NodeJS.ProcessEnv = {};
  const tenants = emu.tenants.map((t, i) => {
    env[`SECRET_${i}`] = t.clientSecret;
    return {
      id: t.tenantId,
      name: `t${i}`,
      cloud: 'custom',
      authorityUrl: emu.url,
      apiUrl: emu.url,
      clientId: t.clientId,
      clientSecret: { env: `SECRET_${i}` },
      ...tenantOverrides,
    };
  });
  const raw = validateConfigObject(
    {
      tenants,
      ...(emu.ca ? { http: { caFile } } : {}),
      poll: { once: true, initialLookbackHours: 24, blobConcurrency: 4 },
      sink: receiverPort === null ? { type: 'stdout' } : { type: 'forward', host: '127.0.0.1', port: receiverPort, ackTimeoutSeconds: 5 },
      stateDir: path.join(dir, 'state'),
      log: { level: 'warn' },
      ...overrides,
    },
    'test-config',
  );
  return resolveConfig(raw, path.join(dir, 'config.yaml'), env, 'test-config');
}
