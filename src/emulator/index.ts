/**
 * The Office 365 Management Activity API emulator: a real HTTP(S) server on loopback that behaves as
 * Microsoft documents the API (and as real records and peers show it behaves). It imports nothing
 * from the product, so it cannot share the client's misunderstandings.
 */
export { startEmulator } from './server';
export { createClientCertificate, certThumbprints, type ClientCertificate } from './certs';
export { profileNames } from './profiles';
export {
  EMULATOR_CONTENT_TYPES,
  type Emulator,
  type EmulatorContentType,
  type EmulatorOptions,
  type EmulatorStats,
  type EmulatorTenantSpec,
  type Faults,
  type Ledger,
  type LedgerBlob,
  type LedgerQuery,
  type ProfileName,
  type RecordIdSets,
  type ResolvedTenant,
} from './types';
