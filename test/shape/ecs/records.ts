/**
 * Record builders for the ECS tests: our own values, in the shapes real records have
 * (../shared/samples/real-records.ndjson was read for the shapes; nothing is copied from it).
 */
export type Rec = Record<string, unknown>;

const ORG = '7E1C2B3A-4D5E-4F60-8172-93A4B5C6D7E8';
let n = 0;
export function guid(): string {
  n++;
  return `0000${n.toString(16).padStart(4, '0')}-1111-4222-8333-444455556666`;
}

const nv = (o: Record<string, unknown>) => Object.entries(o).map(([Name, Value]) => ({ Name, Value }));

export function exchangeAdmin(op: string, params: Record<string, unknown> = {}, extra: Rec = {}): Rec {
  return {
    CreationTime: '2025-03-04T10:11:12',
    Id: guid(),
    Operation: op,
    OrganizationId: ORG,
    RecordType: 1,
    ResultStatus: 'True',
    UserKey: '10032001A1B2C3D4',
    UserType: 2,
    Version: 1,
    Workload: 'Exchange',
    ClientIP: '203.0.113.7:51234',
    ObjectId: 'contoso.onmicrosoft.com\\Rule1',
    UserId: 'alex@contoso.com',
    AppId: '',
    ExternalAccess: false,
    OrganizationName: 'contoso.onmicrosoft.com',
    OriginatingServer: 'AM0PR01MB1234 (15.20.7000.000)\r\n',
    Parameters: nv(params),
    ...extra,
  };
}

export function aadLogon(extra: Rec = {}, ext: Record<string, unknown> = {}): Rec {
  return {
    CreationTime: '2025-03-04T08:00:01',
    Id: guid(),
    Operation: 'UserLoggedIn',
    OrganizationId: ORG,
    RecordType: 15,
    ResultStatus: 'Success',
    UserKey: 'a1b2c3d4-0000-4000-8000-000000000001',
    UserType: 0,
    Version: 1,
    Workload: 'AzureActiveDirectory',
    ClientIP: '198.51.100.23',
    ObjectId: '00000003-0000-0000-c000-000000000000',
    UserId: 'alex@contoso.com',
    AzureActiveDirectoryEventType: 1,
    ExtendedProperties: nv({ ResultStatusDetail: 'Success', UserAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64)', RequestType: 'OAuth2:Token', ...ext }),
    ModifiedProperties: [],
    Actor: [
      { ID: 'a1b2c3d4-0000-4000-8000-000000000001', Type: 0 },
      { ID: 'alex@contoso.com', Type: 5 },
    ],
    ActorContextId: ORG.toLowerCase(),
    ActorIpAddress: '198.51.100.23',
    InterSystemsId: guid(),
    IntraSystemId: guid(),
    SupportTicketId: '',
    Target: [{ ID: '00000003-0000-0000-c000-000000000000', Type: 0 }],
    TargetContextId: ORG.toLowerCase(),
    ApplicationId: 'd3590ed6-52b3-4102-aeff-aad2292ab01c',
    DeviceProperties: nv({ OS: 'Windows10', BrowserType: 'Edge', IsCompliant: 'False', IsCompliantAndManaged: 'False' }),
    ErrorNumber: '0',
    ...extra,
  };
}

export function aadDirectory(op: string, extra: Rec = {}): Rec {
  return {
    CreationTime: '2025-03-04T09:30:00',
    Id: guid(),
    Operation: op,
    OrganizationId: ORG,
    RecordType: 8,
    ResultStatus: 'Success',
    UserKey: '10032001A1B2C3D4@contoso.com',
    UserType: 0,
    Version: 1,
    Workload: 'AzureActiveDirectory',
    ObjectId: 'robin@contoso.com',
    UserId: 'alex@contoso.com',
    AzureActiveDirectoryEventType: 1,
    ExtendedProperties: nv({ additionalDetails: '{}', extendedAuditEventCategory: 'User' }),
    ModifiedProperties: [],
    Actor: [{ ID: 'alex@contoso.com', Type: 5 }],
    Target: [{ ID: 'User_3f2e1d0c-0000-4000-8000-000000000002', Type: 2 }, { ID: 'robin@contoso.com', Type: 5 }],
    ...extra,
  };
}

export function sharePoint(op: string, workload: string, extra: Rec = {}): Rec {
  return {
    CreationTime: '2025-03-04T12:00:00',
    Id: guid(),
    Operation: op,
    OrganizationId: ORG,
    RecordType: 6,
    UserKey: 'i:0h.f|membership|10032001a1b2c3d4@live.com',
    UserType: 0,
    Version: 1,
    Workload: workload,
    ClientIP: '198.51.100.40',
    ObjectId: 'https://contoso.sharepoint.com/sites/Finance/Shared Documents/q1.xlsx',
    UserId: 'alex@contoso.com',
    CorrelationId: guid(),
    EventSource: 'SharePoint',
    ItemType: 'File',
    ListId: guid(),
    ListItemUniqueId: guid(),
    Site: guid(),
    UserAgent: 'Microsoft SkyDriveSync 24.010.0114.0003 ship; Windows NT 10.0 (19045)',
    WebId: guid(),
    SourceFileExtension: 'xlsx',
    SiteUrl: 'https://contoso.sharepoint.com/sites/Finance/',
    SourceFileName: 'q1.xlsx',
    SourceRelativeUrl: 'Shared Documents',
    ...extra,
  };
}

export function sccAlert(op: string, name: string, extra: Rec = {}): Rec {
  return {
    CreationTime: '2025-03-04T13:00:00',
    Id: guid(),
    Operation: op,
    OrganizationId: ORG,
    RecordType: 40,
    ResultStatus: 'Succeeded',
    UserKey: 'SecurityComplianceAlerts',
    UserType: 4,
    Version: 1,
    Workload: 'SecurityComplianceCenter',
    ObjectId: guid(),
    UserId: 'SecurityComplianceAlerts',
    AlertId: guid(),
    AlertLinks: [{ AlertLinkHref: 'https://security.microsoft.com/alerts/x' }],
    AlertType: 'System',
    Category: 'ThreatManagement',
    Comments: 'New alert',
    Data: JSON.stringify({ f3u: 'robin@contoso.com', ts: '2025-03-04T12:58:00Z', te: '2025-03-04T12:59:00Z', op: 'UserSubmission', an: name, sev: 'Low', tsd: 'evil@phish.example', ms: 'Your invoice' }),
    Name: name,
    PolicyId: guid(),
    Severity: 'Low',
    Source: 'Office 365 Security & Compliance',
    Status: 'Active',
    ...extra,
  };
}

export function teams(op: string, extra: Rec = {}): Rec {
  return {
    CreationTime: '2025-03-04T14:00:00',
    Id: guid(),
    Operation: op,
    OrganizationId: ORG,
    RecordType: 25,
    UserKey: 'a1b2c3d4-0000-4000-8000-000000000001',
    UserType: 0,
    Version: 1,
    Workload: 'MicrosoftTeams',
    ClientIP: '198.51.100.50',
    UserId: 'alex@contoso.com',
    ...extra,
  };
}

export function mailItemsAccessed(extra: Rec = {}): Rec {
  return {
    CreationTime: '2025-03-04T15:00:00',
    Id: guid(),
    Operation: 'MailItemsAccessed',
    OrganizationId: ORG,
    RecordType: 50,
    ResultStatus: 'Succeeded',
    UserKey: '10032001A1B2C3D4',
    UserType: 0,
    Version: 1,
    Workload: 'Exchange',
    ClientIP: '2001:db8::17',
    UserId: 'alex@contoso.com',
    AppId: '00000002-0000-0ff1-ce00-000000000000',
    ClientAppId: '5a7e1a2b-0000-4000-8000-00000000beef',
    LogonType: 0,
    MailboxGuid: guid(),
    MailboxOwnerUPN: 'alex@contoso.com',
    OperationProperties: nv({ MailAccessType: 'Bind', IsThrottled: 'False' }),
    OperationCount: 3,
    ...extra,
  };
}

export function threatMail(extra: Rec = {}): Rec {
  return {
    CreationTime: '2025-03-04T07:10:00',
    Id: guid(),
    Operation: 'TIMailData',
    OrganizationId: ORG,
    RecordType: 28,
    UserKey: 'ThreatIntel',
    UserType: 4,
    Version: 1,
    Workload: 'ThreatIntelligence',
    ObjectId: guid(),
    UserId: 'ThreatIntel',
    AttachmentData: [
      { FileName: 'invoice.pdf.exe', FileType: 'exe;zip', FileVerdict: 1, MalwareFamily: 'Trojan:Win32/Example', SHA256: 'AB'.repeat(32) },
      { FileName: 'notes.txt', FileType: 'txt', FileVerdict: 0, SHA256: 'cd'.repeat(32) },
    ],
    AuthDetails: [{ Name: 'SPF', Value: 'Fail' }, { Name: 'DKIM', Value: 'None' }],
    DeliveryAction: 'Blocked',
    DetectionMethod: 'File detonation',
    DetectionType: 'Inline',
    Directionality: 'Inbound',
    EventDeepLink: 'https://security.microsoft.com/?hash=/threatexplorer',
    InternetMessageId: '<m1@phish.example>',
    LatestDeliveryLocation: 'Quarantine',
    MessageTime: '2025-03-04T07:09:30',
    NetworkMessageId: 'aaaabbbb-0000-4000-8000-08dd00000001',
    OriginalDeliveryLocation: 'Quarantine',
    P1Sender: 'bounce@phish.example',
    P2Sender: 'ceo@contoso-lookalike.example',
    Policy: 'SafeAttachments',
    PolicyAction: 'Quarantine',
    Recipients: ['robin@contoso.com', 'sam@contoso.com'],
    SenderIp: '192.0.2.99',
    Subject: 'Invoice 2025-03',
    SystemOverrides: [],
    ThreatsAndDetectionTech: ['Malware: [File detonation]'],
    Verdict: 'Malware',
    ...extra,
  };
}

export function urlClick(extra: Rec = {}): Rec {
  return {
    CreationTime: '2025-03-04T07:20:00',
    Id: guid(),
    Operation: 'TIUrlClickData',
    OrganizationId: ORG,
    RecordType: 41,
    UserKey: 'ThreatIntel',
    UserType: 4,
    Version: 1,
    Workload: 'ThreatIntelligence',
    UserId: 'robin@contoso.com',
    AppName: 'Outlook',
    AppVersion: '16.0.17000.0',
    EventDeepLink: 'https://security.microsoft.com/?hash=/threatexplorer',
    SourceId: 'aaaabbbb-0000-4000-8000-08dd00000001',
    TimeOfClick: '2025-03-04T07:19:58',
    Url: 'https://login.phish.example:8443/owa/auth?u=robin#x',
    UrlClickAction: 2,
    UserIp: '198.51.100.77',
    ...extra,
  };
}

export function atpContent(extra: Rec = {}): Rec {
  return {
    CreationTime: '2025-03-04T07:30:00',
    Id: guid(),
    Operation: 'AtpDetection',
    OrganizationId: ORG,
    RecordType: 47,
    UserKey: 'ThreatIntel',
    UserType: 4,
    Version: 1,
    Workload: 'ThreatIntelligence',
    UserId: 'ThreatIntel',
    DetectionDate: '2025-03-04T07:29:10',
    DetectionMethod: 'AntiMalware',
    EventDeepLink: 'https://security.microsoft.com/',
    FileData: {
      DocumentId: guid(),
      FileName: 'tool.exe',
      FilePath: 'https://contoso.sharepoint.com/sites/Eng/Shared Documents/tool.exe',
      FileSize: '48213',
      FileVerdict: 1,
      MalwareFamily: 'HackTool:Win32/Example',
      SHA256: 'EF'.repeat(32),
    },
    LastModifiedBy: 'sam@contoso.com',
    LastModifiedDate: '2025-03-04T07:00:00',
    SourceWorkload: 1,
    ...extra,
  };
}

export function airInvestigation(extra: Rec = {}): Rec {
  const action = {
    $id: '1',
    ActionId: 'urn:EmailZapper:0a1b',
    ActionType: 'EmailRemediation',
    ActionStatus: 'Pending',
    Entities: [
      {
        $id: '2',
        Type: 'mailCluster',
        NetworkMessageIds: ['aaaabbbb-0000-4000-8000-08dd00000001'],
        Threats: ['Malware'],
      },
    ],
  };
  return {
    CreationTime: '2025-03-04T07:40:00',
    Id: guid(),
    Operation: 'AirInvestigationData',
    OrganizationId: ORG,
    RecordType: 64,
    UserKey: 'AirInvestigation',
    UserType: 4,
    Version: 1,
    Workload: 'AirInvestigation',
    ObjectId: guid(),
    UserId: 'AirInvestigation',
    InvestigationId: 'urn:ZappedMalwareInvestigation:0a1b',
    InvestigationName: 'Mail with malware is zapped - urn:ZappedMalwareInvestigation:0a1b',
    InvestigationType: 'ZappedMalwareInvestigation',
    LastUpdateTimeUtc: '2025-03-04T07:39:00',
    StartTimeUtc: '2025-03-04T07:35:00',
    EndTimeUtc: '2025-03-04T07:39:00',
    Status: 'Pending Action',
    RunningTime: 240,
    DeepLinkUrl: 'https://security.microsoft.com/mtp-investigation/urn:ZappedMalwareInvestigation:0a1b',
    Actions: [JSON.stringify(action)],
    Data: JSON.stringify({
      Version: '3.0',
      ProviderName: 'OATP',
      Severity: 'Informational',
      Entities: [
        { $id: '4', Type: 'mailbox', MailboxPrimaryAddress: 'robin@contoso.com', Upn: 'robin@contoso.com' },
        { $id: '5', Type: 'ip', Address: '192.0.2.99' },
        { $id: '6', Type: 'url', Url: 'https://dl.phish.example/a.zip' },
        { $id: '7', Type: 'file', Name: 'a.zip', FileHashes: [{ $id: '8', Algorithm: 'SHA256', Value: '12'.repeat(32), Type: 'filehash' }], MalwareFamily: 'Trojan:Win32/Example' },
      ],
    }),
    ...extra,
  };
}

export function mailboxItems(op: string, items: Rec[], extra: Rec = {}): Rec {
  return {
    CreationTime: '2025-03-04T16:00:00',
    Id: guid(),
    Operation: op,
    OrganizationId: ORG,
    RecordType: 3,
    ResultStatus: 'Succeeded',
    UserKey: '10032001A1B2C3D4',
    UserType: 0,
    Version: 1,
    Workload: 'Exchange',
    ClientIP: '198.51.100.60',
    UserId: 'robin@contoso.com',
    ClientIPAddress: '198.51.100.60',
    ClientInfoString: 'Client=OWA;Action=ViaProxy',
    LogonType: 0,
    MailboxGuid: guid(),
    MailboxOwnerUPN: 'robin@contoso.com',
    AffectedItems: items.map((i) => ({ ParentFolder: { Id: 'f1', Path: '\\Inbox' }, ...i })),
    CrossMailboxOperation: false,
    ...extra,
  };
}
