/** Named profiles: default volumes and fault mixes. Explicit options always win over the profile. */
import type { EmulatorContentType, Faults } from './types';

export const NO_FAULTS: Faults = {
  lateContentRate: 0,
  lateDelayMs: 45 * 60_000,
  lateListingRate: 0,
  lateListingMinMs: 6 * 3_600_000,
  lateListingMaxMs: 3 * 24 * 3_600_000,
  lateListingNotBefore: 0,
  duplicateListingRate: 0,
  duplicateRecordRate: 0,
  invalidRecordRate: 0,
  expiredContentRate: 0,
  serverErrorRate: 0,
  connectionResetRate: 0,
  slowResponseRate: 0,
  slowResponseMs: 1500,
  truncatedBlobRate: 0,
  tokenFailureRate: 0,
  tokenOutageUntil: 0,
  disableSubscriptionAfterListings: 0,
};

export interface Profile {
  faults: Faults;
  recordsPerHour: Record<EmulatorContentType, number>;
  /** Whether hourly volume follows a day curve with jitter (else exactly recordsPerHour). */
  varyVolume: boolean;
}

// Small defaults: a demo or test lists and fetches a day of history in seconds.
const BASE_RATES: Record<EmulatorContentType, number> = {
  'Audit.AzureActiveDirectory': 40,
  'Audit.Exchange': 60,
  'Audit.SharePoint': 60,
  'Audit.General': 40,
  'DLP.All': 6,
};

const PROFILES: Record<string, Profile> = {
  clean: { faults: NO_FAULTS, recordsPerHour: BASE_RATES, varyVolume: false },
  // What a healthy tenant looks like: Microsoft re-delivers records and publishes some blobs late by design.
  realistic: {
    faults: { ...NO_FAULTS, lateContentRate: 0.03, duplicateListingRate: 0.01, duplicateRecordRate: 0.02 },
    recordsPerHour: BASE_RATES,
    varyVolume: true,
  },
  faulty: {
    faults: {
      ...NO_FAULTS,
      lateContentRate: 0.05,
      lateListingRate: 0.01,
      duplicateListingRate: 0.05,
      duplicateRecordRate: 0.05,
      invalidRecordRate: 0.01,
      expiredContentRate: 0.01,
      serverErrorRate: 0.02,
      connectionResetRate: 0.01,
      slowResponseRate: 0.02,
      truncatedBlobRate: 0.02,
      tokenFailureRate: 0.05,
    },
    recordsPerHour: BASE_RATES,
    varyVolume: true,
  },
};

export function profileNames(): string[] {
  return Object.keys(PROFILES);
}

export function resolveProfile(name: string | undefined): Profile {
  const p = PROFILES[name ?? 'clean'];
  if (!p) throw new Error(`unknown emulator profile "${name}"; use one of: ${profileNames().join(', ')}`);
  return p;
}
