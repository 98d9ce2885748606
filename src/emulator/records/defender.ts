/**
 * Defender for Office 365 record types delivered in Audit.General: 28 TIMailData, 41 TIUrlClickData,
 * 47 AtpDetection, 64 AirInvestigationData. Shapes follow real records (sheet §5): Policy/PolicyAction
 * as strings (with the documented integer form now and then), ThreatsAndDetectionTech as a list,
 * FileSize as a string, AIR `Data` as a JSON string and `Actions` as a list of JSON strings (objects
 * in a minority, as also seen).
 */
import { dotNetTime, recordTime, usLocaleTime } from '../time';
import type { Rng } from '../rand';
import { EXTERNAL_DOMAINS, FILE_NAMES, MALWARE_FAMILIES, PHISH_URLS, SUBJECTS, fill } from './vocab';
import { before, head, person, sha256Base64, type AuditRecord, type RecordContext } from './common';
import { publicIpv4 } from './identity';

const DETECTION_TECH = [
  'Advanced filter', 'Antimalware protection', 'Bulk', 'Campaign', 'Domain reputation', 'File detonation',
  'File detonation reputation', 'File reputation', 'Fingerprint matching', 'General filter', 'Impersonation brand',
  'Impersonation domain', 'Impersonation user', 'IP reputation', 'Mailbox intelligence impersonation',
  'Mixed analysis detection', 'Spoof DMARC', 'Spoof external domain', 'Spoof intra-org', 'URL detonation',
  'URL detonation reputation', 'URL malicious reputation',
] as const;

const AUTH_VALUES = ['Pass', 'Fail', 'None', 'Best guess pass', 'Permanent error', 'pass', 'fail', 'none'] as const;

interface Verdict {
  verdict: 'Phish' | 'Malware' | 'Spam';
  policy: string;
  policyInt: number;
  action: string;
  actionInt: number;
  tech: readonly string[];
}

const VERDICTS: readonly Verdict[] = [
  { verdict: 'Phish', policy: 'Phish', policyInt: 4, action: 'MoveToJmf', actionInt: 0, tech: ['URL malicious reputation', 'Advanced filter', 'Impersonation user'] },
  { verdict: 'Phish', policy: 'HighConfidencePhish', policyInt: 15, action: 'Quarantine', actionInt: 5, tech: ['URL detonation reputation', 'Fingerprint matching'] },
  { verdict: 'Phish', policy: 'Spoof', policyInt: 7, action: 'MoveToJmf', actionInt: 0, tech: ['Spoof DMARC', 'Spoof external domain'] },
  { verdict: 'Malware', policy: 'AntiMalware', policyInt: 9, action: 'Quarantine', actionInt: 5, tech: ['Antimalware protection', 'File reputation'] },
  { verdict: 'Malware', policy: 'SafeAttachements', policyInt: 10, action: 'Quarantine', actionInt: 5, tech: ['File detonation', 'File detonation reputation'] },
  { verdict: 'Spam', policy: 'Spam', policyInt: 2, action: 'MoveToJmf', actionInt: 0, tech: ['General filter', 'IP reputation', 'Bulk'] },
];

function deepLink(nmid: string, ms: number): string {
  return `https://security.microsoft.com/?hash=/threatexplorer?messageParams=${nmid},${nmid},${recordTime(ms)}&view=Phish`;
}

function externalSender(rng: Rng): string {
  return `${rng.pick(['billing', 'noreply', 'support', 'hr', 'it-desk', 'admin'])}@${rng.pick(EXTERNAL_DOMAINS)}`;
}

export function tiMail(c: RecordContext): AuditRecord {
  const rng = c.rng;
  const v = rng.pick(VERDICTS);
  const nmid = rng.guid();
  const messageMs = before(c, 40);
  const type = rng.weighted(DETECTION_TYPES);
  const delivered = type !== 'Inline' || v.verdict === 'Spam';
  const original = delivered ? (v.verdict === 'Spam' ? 'JunkFolder' : 'Inbox') : 'Quarantine';
  const latest = type === 'ZAP' ? (v.action === 'Quarantine' ? 'Quarantine' : 'JunkFolder') : original;
  const recipients = [person(c).upn];
  if (rng.chance(0.15)) recipients.push(person(c).upn);
  const sender = externalSender(rng);
  const r = head(c, 'TIMailData', 28, undefined, 'ThreatIntel', 4, 'ThreatIntelligence');
  r.ObjectId = nmid + rng.hex(16);
  r.UserId = 'ThreatIntel';
  r.AdditionalActionsAndResults = type === 'ZAP' ? ['OriginalDelivery: [N/A]', `Zap: [Success: Message moved to ${latest === 'Quarantine' ? 'quarantine' : 'junk'}]`] : ['OriginalDelivery: [N/A]'];
  if (v.verdict === 'Malware') {
    const name = fill(rng.pick(FILE_NAMES), rng.range(100, 9999), rng.range(1, 4));
    r.AttachmentData = [
      {
        FileName: rng.chance(0.3) ? name + '.exe' : name,
        FileType: rng.pick(['exe;zip', 'docm;zip', 'pdf', 'html', 'js', 'eml;mime']),
        // FileVerdict is an integer; one fixture set carries it as a numeric string, so do that now and then.
        FileVerdict: rng.chance(0.05) ? '1' : 1,
        MalwareFamily: rng.pick(MALWARE_FAMILIES),
        SHA256: rng.hex(64, true),
      },
    ];
  }
  r.AuthDetails = [
    { Name: 'SPF', Value: rng.pick(AUTH_VALUES) },
    { Name: 'DKIM', Value: rng.pick(AUTH_VALUES) },
    { Name: 'DMARC', Value: rng.pick(AUTH_VALUES) },
    { Name: 'Comp Auth', Value: rng.pick(['pass', 'fail', 'none', 'softpass']) },
  ];
  if (rng.chance(0.3)) r.Connector = `${rng.guid()}: [Inbound from ${rng.guid()}]`;
  r.DeliveryAction = delivered ? (v.verdict === 'Spam' ? 'DeliveredAsSpam' : 'Delivered') : 'Blocked';
  r.DetectionMethod = rng.pick(v.tech);
  r.DetectionType = type;
  r.Directionality = rng.chance(0.9) ? 'Inbound' : 'Intraorg';
  r.EventDeepLink = deepLink(nmid, messageMs);
  r.InternetMessageId = `<${rng.guid()}@${sender.split('@')[1]}>`;
  r.LatestDeliveryLocation = latest;
  r.MessageTime = recordTime(messageMs);
  r.NetworkMessageId = nmid;
  r.OriginalDeliveryLocation = original;
  r.P1Sender = rng.chance(0.3) ? `prvs=${rng.hex(10)}=${sender}` : sender;
  r.P2Sender = sender;
  if (v.verdict === 'Phish') r.PhishConfidenceLevel = v.policy === 'HighConfidencePhish' ? 'High' : 'Normal';
  // Policy/PolicyAction: strings on the wire, the documented Int32 form sometimes, often absent.
  const p = rng.float();
  if (p < 0.65) {
    r.Policy = v.policy;
    r.PolicyAction = v.action;
  } else if (p < 0.75) {
    r.Policy = v.policyInt;
    r.PolicyAction = v.actionInt;
  }
  r.Recipients = recipients;
  r.SenderIp = rng.chance(0.85) ? publicIpv4(rng) : `2603:10a6:${rng.hex(4)}::${rng.hex(2)}`;
  r.Subject = fill(rng.pick(SUBJECTS), rng.range(1000, 99999), rng.range(1, 4));
  r.SystemOverrides = rng.chance(0.2) ? [{ Details: 'Antimalware policy block by file type', FinalOverride: 'No', Result: 'Block', Source: 'Tenant' }] : [];
  if (rng.chance(0.9)) {
    const techs = [`${v.verdict}: [${rng.pick(v.tech)}]`];
    if (rng.chance(0.4)) techs.push(`Spam: [${rng.pick(DETECTION_TECH)}]`);
    r.ThreatsAndDetectionTech = techs;
  }
  r.Verdict = v.verdict;
  return r;
}

const DETECTION_TYPES = {
  values: ['Inline', 'Delayed', 'ZAP'] as Array<'Inline' | 'Delayed' | 'ZAP'>,
  cumulative: [0.7, 0.85, 1],
  total: 1,
};

export function tiUrlClick(c: RecordContext): AuditRecord {
  const rng = c.rng;
  const u = person(c);
  const nmid = rng.guid();
  const clickMs = before(c, 30);
  const r = head(c, 'TIUrlClickData', 41, undefined, 'ThreatIntel', 4, 'ThreatIntelligence');
  r.UserId = u.upn;
  r.AppName = rng.pick(['Mail', 'Mail', 'Teams', 'Word', 'Excel']);
  r.AppVersion = rng.chance(0.5) ? '0.0.0000' : `16.0.${rng.range(15000, 17999)}.${rng.range(10000, 20999)}`;
  r.EventDeepLink = deepLink(nmid, clickMs);
  r.SourceId = nmid;
  r.TimeOfClick = recordTime(clickMs);
  // The documented key is URLClickAction (2..5); the one raw sample lacks it, so leave it out sometimes.
  if (rng.chance(0.8)) r.URLClickAction = rng.pick([2, 2, 2, 3, 4, 5]);
  r.Url = fill(rng.pick(PHISH_URLS), rng.range(1000, 99999), rng.range(1, 254));
  r.UserIp = rng.pick(c.t.ipv4);
  return r;
}

export function atpDetection(c: RecordContext): AuditRecord {
  const rng = c.rng;
  const u = person(c);
  const modifier = person(c);
  const workload = rng.pick([0, 1, 1, 2]);
  const name = fill(rng.pick(FILE_NAMES), rng.range(100, 9999), rng.range(1, 4));
  const base =
    workload === 1
      ? `https://${c.t.spoName}-my.sharepoint.com/personal/${u.upn.replace(/[.@]/g, '_')}/Documents/`
      : `https://${c.t.spoName}.sharepoint.com/sites/${rng.pick(['hr', 'finance', 'sales'])}/Shared Documents/`;
  const r = head(c, 'AtpDetection', 47, undefined, 'ThreatIntel', 4, 'ThreatIntelligence');
  r.UserId = u.upn;
  r.DetectionDate = recordTime(before(c, 20));
  r.DetectionMethod = rng.pick(['AntiMalware', 'File detonation', 'File reputation']);
  r.EventDeepLink = `https://security.microsoft.com/?hash=/threatexplorer?fileParams=${rng.guid()}&view=Malware`;
  r.FileData = {
    DocumentId: rng.guid(),
    FileName: name,
    FilePath: base + encodeURI(name),
    FileSize: String(rng.range(2_000, 8_000_000)),
    FileVerdict: rng.chance(0.95) ? 1 : rng.pick([-1, -2]),
    MalwareFamily: rng.pick(MALWARE_FAMILIES),
    SHA256: sha256Base64(c),
  };
  r.LastModifiedBy = modifier.upn;
  r.LastModifiedDate = recordTime(before(c, 60 * 24 * 30));
  r.SourceWorkload = workload;
  return r;
}

const AIR_KINDS = [
  { type: 'ZappedUrlInvestigation', urn: 'ZappedUrlInvestigation', name: 'Mail with malicious urls is zapped', alert: 'Email messages containing malicious URL removed after delivery' },
  { type: 'ZappedMalwareInvestigation', urn: 'ZappedMalwareInvestigati', name: 'Mail with Malware is zapped', alert: 'Email messages containing malware removed after delivery' },
  { type: 'UrlVerdictChangeInvestigation', urn: 'UrlVerdictChangeInvestig', name: 'Clicked url Verdict changed to malicious', alert: 'A potentially malicious URL click was detected' },
  { type: 'UserReportedInvestigation', urn: 'SubmissionInvestigation', name: 'Email reported by user as malware or phish', alert: 'Email reported by user as malware or phish' },
] as const;

const AIR_STATUS = ['Running', 'Pending Action', 'Remediated', 'No threats found', 'Threats Found', 'Investigation Started', 'Terminated by System', 'Failed'] as const;

export function airInvestigation(c: RecordContext): AuditRecord {
  const rng = c.rng;
  const kind = rng.pick(AIR_KINDS);
  const status = rng.pick(AIR_STATUS);
  const invHex = rng.hex(32);
  const invId = `urn:${kind.urn}:${invHex}`;
  const startMs = before(c, 90);
  const updateMs = Math.min(c.ms - 1000, startMs + rng.range(60, 3000) * 1000);
  const alertId = rng.guid();
  const victim = person(c);
  const url = fill(rng.pick(PHISH_URLS), rng.range(1000, 99999), rng.range(1, 254));
  const sender = externalSender(rng);
  const nmids = Array.from({ length: rng.range(1, 4) }, () => rng.guid());
  const ticks = rng.range(0, 9999);
  let sid = 0;
  const next = (): string => String(++sid);
  const urn = (what: string): string => `urn:${what}:${rng.hex(32)}`;
  const cluster = (): AuditRecord => ({
    $id: next(),
    NetworkMessageIds: nmids,
    CountByThreatType: { HighConfPhish: rng.range(0, 3), Phish: rng.range(0, 3), Malware: kind.type.includes('Malware') ? nmids.length : 0, Spam: rng.range(0, 2), MaliciousUrl: kind.type.includes('Url') ? nmids.length : 0 },
    CountByProtectionStatus: { Delivered: nmids.length },
    CountByDeliveryLocation: { Inbox: nmids.length },
    Query: `( ((NormalizedUrl:"${url}") AND (ContentType: 1)) AND NOT(XmiInfoTenantPolicyFinalVerdictSource:PhishEdu) AND NOT(XmiInfoTenantPolicyFinalVerdictSource:SecOps))`,
    QueryTime: dotNetTime(startMs, ticks),
    MailCount: nmids.length,
    IsVolumeAnamoly: false,
    ClusterSourceIdentifier: url,
    ClusterSourceType: 'UrlThreatIndicator',
    ClusterQueryStartTime: new Date(startMs - 20 * 86_400_000).toISOString().slice(0, 10) + 'T00:00:00Z',
    ClusterQueryEndTime: dotNetTime(startMs, ticks),
    ClusterGroup: 'UrlThreatIdentifier',
    Type: 'mailCluster',
    ClusterBy: 'NormalizedUrl;ContentType',
    ClusterByValue: `${url};1`,
    QueryStartTime: usLocaleTime(startMs - 20 * 86_400_000),
    Urn: urn('MailClusterEntity'),
    Source: 'OATP',
    FirstSeen: recordTime(startMs),
  });
  const entities: AuditRecord[] = [
    { $id: next(), MailboxPrimaryAddress: victim.upn, Upn: victim.upn, AadId: victim.objectId, RiskLevel: rng.pick(['None', 'Low', 'Medium']), Type: 'mailbox', Urn: urn('UserEntity'), Source: 'OATP', FirstSeen: recordTime(startMs) },
    { $id: next(), Url: url, Type: 'url', ClickCount: rng.range(0, 5), EmailCount: nmids.length, Urn: urn('UrlEntity'), Source: 'OATP', FirstSeen: recordTime(startMs) },
    {
      $id: next(),
      Files: kind.type.includes('Malware')
        ? [{ $id: next(), Name: fill(rng.pick(FILE_NAMES), rng.range(100, 9999), 1), FileHashes: [{ $id: next(), Algorithm: 'SHA256', Value: rng.hex(64), Type: 'filehash' }], Type: 'file', MalwareFamily: rng.pick(MALWARE_FAMILIES) }]
        : [],
      Recipient: victim.upn,
      Urls: [url],
      Sender: sender,
      SenderIP: publicIpv4(rng),
      ReceivedDate: recordTime(startMs - 600_000),
      NetworkMessageId: nmids[0],
      InternetMessageId: `<${rng.guid()}@${sender.split('@')[1]}>`,
      Subject: fill(rng.pick(SUBJECTS), rng.range(1000, 99999), 2),
      Type: 'mailMessage',
      Urn: urn('MailMessageEntity'),
      Source: 'OATP',
      FirstSeen: recordTime(startMs),
    },
    cluster(),
  ];
  const data: AuditRecord = {
    Version: '3.0',
    VendorName: 'Microsoft',
    ProviderName: 'OATP',
    AlertType: rng.guid(),
    StartTimeUtc: dotNetTime(startMs - 900_000, ticks),
    EndTimeUtc: dotNetTime(startMs - 900_000, ticks),
    TimeGenerated: dotNetTime(startMs - 600_000, ticks),
    ProcessingEndTime: dotNetTime(updateMs, ticks),
    // 2019 doc sample has an integer status, current records a string.
    Status: rng.chance(0.1) ? 1 : 'InProgress',
    DetectionTechnology: kind.type.includes('Malware') ? 'Malware' : 'UrlReputation',
    Severity: rng.pick(['Informational', 'Low', 'Medium', 'High']),
    ConfidenceLevel: 'Unknown',
    ConfidenceScore: 1.0,
    IsIncident: false,
    ProviderAlertId: alertId,
    SystemAlertId: null,
    CorrelationKey: rng.guid(),
    Investigations: [{ $id: '1', Id: invId, InvestigationStatus: status === 'Pending Action' ? 'Pending' : 'Running' }],
    InvestigationIds: [invId],
    Intent: 'Probing',
    ResourceIdentifiers: [{ $id: '2', AadTenantId: c.t.tenantId, Type: 'AAD' }],
    AzureResourceId: null,
    WorkspaceId: null,
    WorkspaceSubscriptionId: null,
    WorkspaceResourceGroup: null,
    AgentId: null,
    AlertDisplayName: kind.alert,
    Description: `${kind.alert} -V1.0.0.${rng.range(1, 9)}`,
    ExtendedLinks: [{ Href: `https://security.microsoft.com/alerts/fa${alertId}`, Category: null, Label: 'alert', Type: 'webLink' }],
    Metadata: { CustomApps: null, GenericInfo: null },
    Entities: entities,
    LogCreationTime: dotNetTime(updateMs, ticks),
    MachineName: `BN${rng.range(1, 9)}NAM${rng.range(10, 99)}FT${rng.range(100, 999)}`,
    SourceTemplateType: kind.type.includes('Verdict') ? 'MaliciousUrlClick_Single' : 'ZappedUrl_Single',
    Category: 'ThreatManagement',
    SourceAlertType: 'System',
  };
  const actions: unknown[] = [];
  if (status !== 'No threats found' && status !== 'Investigation Started') {
    sid = 0;
    const action: AuditRecord = {
      $id: next(),
      ActionId: urn('EmailZapper'),
      InvestigationId: invId,
      ActionApproval: 'None',
      ActionType: 'EmailRemediation',
      ActionStatus: status === 'Remediated' ? 'Completed' : status === 'Failed' ? 'Failed' : 'Pending',
      Entities: [cluster()],
      RelatedAlertIds: [alertId],
      StartTimeUtc: recordTime(startMs),
      LastUpdateTimeUtc: dotNetTime(updateMs, ticks),
      TimestampUtc: recordTime(startMs),
      BulkName: `${kind.name} - ${invId}`,
      ResourceIdentifiers: [{ $id: next(), AadTenantId: c.t.tenantId, Type: 'AAD' }],
      PendingType: 'User',
      LogCreationTime: dotNetTime(updateMs, ticks),
      MachineName: data.MachineName,
      Description: "For malicious emails, you can move to junk, soft or hard delete from user's mailbox.",
    };
    // Actions are JSON strings in the 2019 doc sample and in most observed records; objects in some.
    actions.push(rng.chance(0.85) ? JSON.stringify(action) : action);
  }
  const r = head(c, 'AirInvestigationData', 64, undefined, 'AirInvestigation', 4, 'AirInvestigation');
  r.ObjectId = c.id;
  r.UserId = 'AirInvestigation';
  r.Actions = actions;
  r.Data = JSON.stringify(data);
  r.DeepLinkUrl = `https://security.microsoft.com/mtp-investigation/${invId}`;
  r.EndTimeUtc = recordTime(updateMs);
  r.InvestigationId = invId;
  r.InvestigationName = `${kind.name} - ${invId}`;
  r.InvestigationType = kind.type;
  r.LastUpdateTimeUtc = recordTime(updateMs);
  r.RunningTime = Math.round((updateMs - startMs) / 1000);
  r.StartTimeUtc = recordTime(startMs);
  r.Status = status;
  return r;
}
