/**
 * Validation throughput: records/s of JSON.parse alone (the baseline: the bridge must parse anyway)
 * against JSON.parse + validate, on a realistic mix of the Defender record types 28/41/47/64. The
 * figure that matters is the ratio validate-rate / parse-rate (target ≥ 0.5).
 *
 * The records are distinct (ids, times, addresses, subjects vary) and serialised once up front, so the
 * loop measures parsing and validation only. Rounds alternate parse-only and parse+validate so both
 * see the same machine state; the best round of each counts.
 */
import { createValidator } from '../src/schema/validator';

type Rec = Record<string, unknown>;

/** Small deterministic PRNG (mulberry32): the same mix on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (r: () => number, n: number): string => {
  let s = '';
  for (let i = 0; i < n; i++) s += ((r() * 16) | 0).toString(16);
  return s;
};
const guid = (r: () => number): string => `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-a${hex(r, 3)}-${hex(r, 12)}`;
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[(r() * xs.length) | 0];
const time = (r: () => number): string => {
  const d = new Date(Date.UTC(2025, 2, 1) + ((r() * 7 * 86400) | 0) * 1000);
  return d.toISOString().slice(0, 19);
};
const ip = (r: () => number): string => `${1 + ((r() * 222) | 0)}.${(r() * 256) | 0}.${(r() * 256) | 0}.${1 + ((r() * 254) | 0)}`;
const user = (r: () => number): string => `${pick(r, ['alex', 'megan', 'lee', 'adele', 'diego', 'nestor', 'irvin', 'grady'])}.${hex(r, 4)}@contoso.example`;

const ORG = 'd7a1c2e4-3b5f-4e6a-9c8d-1f2e3a4b5c6d';

function common(r: () => number, recordType: number, operation: string, workload: string, userKey: string): Rec {
  return {
    CreationTime: time(r),
    Id: guid(r),
    Operation: operation,
    OrganizationId: ORG,
    RecordType: recordType,
    UserKey: userKey,
    UserType: 4,
    Version: 1,
    Workload: workload,
  };
}

function mail(r: () => number): Rec {
  const nmid = guid(r);
  const malware = r() < 0.4;
  const rec: Rec = {
    ...common(r, 28, 'TIMailData', 'ThreatIntelligence', 'ThreatIntel'),
    ObjectId: nmid + hex(r, 20),
    UserId: 'ThreatIntel',
    AdditionalActionsAndResults: ['OriginalDelivery: [N/A]'],
    AuthDetails: [
      { Name: 'SPF', Value: pick(r, ['Pass', 'Fail', 'None']) },
      { Name: 'DKIM', Value: pick(r, ['Pass', 'Fail', 'None']) },
      { Name: 'DMARC', Value: pick(r, ['Pass', 'Fail', 'Best guess pass']) },
      { Name: 'Comp Auth', Value: pick(r, ['pass', 'fail']) },
    ],
    DeliveryAction: pick(r, ['Blocked', 'Delivered', 'DeliveredAsSpam']),
    DetectionMethod: pick(r, ['File detonation', 'Spoof DMARC', 'URL malicious reputation', 'Fingerprint matching']),
    DetectionType: pick(r, ['Inline', 'Delayed', 'ZAP']),
    Directionality: pick(r, ['Inbound', 'Intraorg']),
    EventDeepLink: `https://security.microsoft.com/?hash=/threatexplorer?messageParams=${nmid},${nmid}-${hex(r, 12)},2025-03-01T00:00:00,2025-03-01T23:59:59&view=Phish`,
    InternetMessageId: `<${hex(r, 16)}@mail.example.net>`,
    LatestDeliveryLocation: pick(r, ['Quarantine', 'JunkFolder', 'Inbox']),
    MessageTime: time(r),
    NetworkMessageId: nmid,
    OriginalDeliveryLocation: pick(r, ['Quarantine', 'JunkFolder', 'Inbox']),
    P1Sender: `prvs=${hex(r, 10)}=billing@example.net`,
    P2Sender: 'billing@example.net',
    Policy: pick(r, ['Phish', 'Spoof', 'AntiMalware', 'SafeAttachements']),
    PolicyAction: pick(r, ['Quarantine', 'MoveToJmf']),
    Recipients: Array.from({ length: 1 + ((r() * 3) | 0) }, () => user(r)),
    SenderIp: ip(r),
    Subject: `Invoice ${hex(r, 6)} is overdue`,
    SystemOverrides: [],
    ThreatsAndDetectionTech: malware ? ['Malware: [File detonation]', 'Spam: [General filter]'] : ['Phish: [Spoof DMARC]'],
    Verdict: malware ? 'Malware' : 'Phish',
  };
  if (malware) {
    rec.AttachmentData = [{ FileName: `doc_${hex(r, 4)}.pdf.exe`, FileType: 'exe;zip', FileVerdict: 1, MalwareFamily: 'Malicious Payload', SHA256: hex(r, 64).toUpperCase() }];
  }
  return rec;
}

function click(r: () => number): Rec {
  return {
    ...common(r, 41, 'TIUrlClickData', 'ThreatIntelligence', 'ThreatIntel'),
    UserId: user(r),
    AppName: pick(r, ['Mail', 'Teams', 'Word']),
    AppVersion: '0.0.0000',
    EventDeepLink: 'https://security.microsoft.com/?hash=/threatexplorer?view=UrlClicks',
    SourceId: guid(r),
    TimeOfClick: time(r),
    Url: `https://phish-${hex(r, 6)}.example.net/login?session=${hex(r, 24)}`,
    UserIp: ip(r),
  };
}

function file(r: () => number): Rec {
  return {
    ...common(r, 47, 'AtpDetection', 'ThreatIntelligence', 'ThreatIntel'),
    UserId: user(r),
    DetectionDate: time(r),
    DetectionMethod: 'AntiMalware',
    EventDeepLink: 'https://security.microsoft.com/?hash=/threatexplorer?view=Content',
    FileData: {
      DocumentId: guid(r),
      FileName: `report_${hex(r, 4)}.xlsm`,
      FilePath: `https://contoso.sharepoint.example/sites/Finance/Shared Documents/report_${hex(r, 4)}.xlsm`,
      FileSize: String((r() * 5e6) | 0),
      FileVerdict: 1,
      MalwareFamily: 'TrojanDownloader:O97M/Donoff',
      SHA256: Buffer.from(hex(r, 64), 'hex').toString('base64'),
    },
    LastModifiedBy: user(r),
    LastModifiedDate: time(r),
    SourceWorkload: (r() * 3) | 0,
  };
}

function air(r: () => number): Rec {
  const inv = `urn:ZappedUrlInvestigation:${hex(r, 32)}`;
  const base = common(r, 64, 'AirInvestigationData', 'AirInvestigation', 'AirInvestigation');
  const action = {
    $id: '1',
    ActionId: `urn:EmailZapper:${hex(r, 32)}`,
    InvestigationId: inv,
    ActionApproval: 'None',
    ActionType: 'EmailRemediation',
    ActionStatus: pick(r, ['Pending', 'Completed']),
    Entities: [
      {
        $id: '2',
        NetworkMessageIds: Array.from({ length: 1 + ((r() * 4) | 0) }, () => guid(r)),
        CountByThreatType: { HighConfPhish: 0, Phish: 1, Malware: 0, Spam: 0, MaliciousUrl: 1 },
        CountByProtectionStatus: { Delivered: 1 },
        Query: `NormalizedUrl:"https://phish-${hex(r, 6)}.example.net/login"`,
        QueryTime: `${time(r)}.${hex(r, 7).replace(/[a-f]/g, '1')}Z`,
        MailCount: 1,
        Type: 'mailCluster',
        Source: 'OATP',
      },
    ],
    RelatedAlertIds: [guid(r)],
    StartTimeUtc: time(r),
    TimestampUtc: time(r),
  };
  const data = {
    Version: '3.0',
    VendorName: 'Microsoft',
    ProviderName: 'OATP',
    AlertType: guid(r),
    Status: 'InProgress',
    Severity: 'Informational',
    IsIncident: false,
    ProviderAlertId: guid(r),
    InvestigationIds: [inv],
    Entities: [{ $id: '3', Url: `https://phish-${hex(r, 6)}.example.net/login`, Type: 'url', Source: 'OATP' }],
  };
  return {
    ...base,
    ObjectId: base.Id,
    UserId: 'AirInvestigation',
    DeepLinkUrl: `https://security.microsoft.com/mtp-investigation/${inv}`,
    EndTimeUtc: '0001-01-01T00:00:00',
    InvestigationId: inv,
    InvestigationName: `Mail with malicious urls is zapped - ${inv}`,
    InvestigationType: 'ZappedUrlInvestigation',
    LastUpdateTimeUtc: time(r),
    RunningTime: (r() * 2000) | 0,
    StartTimeUtc: time(r),
    Status: pick(r, ['Running', 'Pending Action', 'Remediated', 'Investigation Started']),
    // Half string-encoded (2019 doc sample, most real records), half objects (2023 records).
    Actions: r() < 0.5 ? [JSON.stringify(action)] : [action],
    Data: JSON.stringify(data),
  };
}

/** The mix: mostly mail detections, then URL clicks, files and AIR updates. */
export function buildMix(count: number, seed = 42): string[] {
  const r = rng(seed);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const x = r();
    const rec = x < 0.45 ? mail(r) : x < 0.75 ? click(r) : x < 0.88 ? file(r) : air(r);
    out.push(JSON.stringify(rec));
  }
  return out;
}

function measure(lines: readonly string[], minMs: number, work: (s: string) => unknown): number {
  let n = 0;
  let sink = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  do {
    for (let i = 0; i < lines.length; i++) {
      if (work(lines[i]) !== undefined) sink++;
    }
    n += lines.length;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  } while (elapsed < minMs);
  if (sink < 0) console.log(sink); // keep the results observable
  return (n / elapsed) * 1000;
}

export async function run(opts: { quick: boolean }): Promise<Record<string, number>> {
  const count = opts.quick ? 2000 : 5000;
  const minMs = opts.quick ? 150 : 1000;
  const rounds = opts.quick ? 2 : 5;
  const lines = buildMix(count);
  const bytes = lines.reduce((a, s) => a + Buffer.byteLength(s), 0);
  const validator = createValidator();

  let invalid = 0;
  for (const s of lines) if (!validator.validate(JSON.parse(s)).valid) invalid++;

  const parseOnly = (s: string) => JSON.parse(s);
  const parseValidate = (s: string) => validator.validate(JSON.parse(s));
  // Warm up both paths (JIT) before measuring.
  measure(lines, minMs / 2, parseOnly);
  measure(lines, minMs / 2, parseValidate);
  let parseRate = 0;
  let validateRate = 0;
  for (let i = 0; i < rounds; i++) {
    parseRate = Math.max(parseRate, measure(lines, minMs, parseOnly));
    validateRate = Math.max(validateRate, measure(lines, minMs, parseValidate));
    await new Promise((resolve) => setImmediate(resolve));
  }
  const ratio = validateRate / parseRate;
  const result = {
    records: count,
    avg_record_bytes: Math.round(bytes / count),
    invalid_records: invalid,
    parse_records_per_s: Math.round(parseRate),
    parse_validate_records_per_s: Math.round(validateRate),
    ratio: Math.round(ratio * 1000) / 1000,
  };
  console.log(
    `validation: ${count} records (avg ${result.avg_record_bytes} B, mix 28/41/47/64)  ` +
      `JSON.parse ${result.parse_records_per_s.toLocaleString('en-US')} rec/s  ` +
      `parse+validate ${result.parse_validate_records_per_s.toLocaleString('en-US')} rec/s  ` +
      `ratio ${result.ratio} (target >= 0.5)${invalid ? `  WARNING: ${invalid} generated records invalid` : ''}`,
  );
  return result;
}

if (require.main === module) {
  run({ quick: process.argv.includes('--quick') }).catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
