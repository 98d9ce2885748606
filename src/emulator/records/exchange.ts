/** Audit.Exchange: mailbox items (2), item groups (3), admin cmdlets (1), MailItemsAccessed (50). */
import { weightedTable, type WeightedTable } from '../rand';
import { CLIENT_INFO, EXTERNAL_DOMAINS, SERVERS, SUBJECTS, fill } from './vocab';
import { admin, appAccessContext, clientIp, head, person, type AuditRecord, type RecordBuilder, type RecordContext } from './common';
import type { Person } from './identity';

const FOLDERS = ['\\Inbox', '\\Sent Items', '\\Drafts', '\\Deleted Items', '\\Archive', '\\Inbox\\Projects'] as const;

function itemId(c: RecordContext): string {
  return 'LgAAAA' + Buffer.from(c.rng.hex(48), 'hex').toString('base64').replace(/=+$/, '') + 'AAAJ';
}

function messageId(c: RecordContext, domain: string): string {
  return `<${c.rng.hex(24, true)}@${domain}>`;
}

function originatingServer(c: RecordContext): string {
  return `${c.rng.pick(SERVERS)}${c.rng.range(1000, 9999)} (15.20.${c.rng.range(6000, 7999)}.${c.rng.range(10, 40)}${c.rng.range(0, 9)})\r\n`;
}

function mailboxFields(c: RecordContext, r: AuditRecord, owner: Person, ip: string): void {
  if (c.rng.chance(0.4)) r.AppAccessContext = appAccessContext(c);
  r.AppId = c.rng.pick(c.t.appIds);
  r.ClientAppId = c.rng.chance(0.5) ? c.rng.pick(c.t.appIds) : '';
  r.ClientIPAddress = ip;
  r.ClientInfoString = c.rng.pick(CLIENT_INFO);
  r.ClientProcessName = c.rng.pick(['outlook.exe', 'w3wp.exe', 'OWA', '']);
  r.ClientVersion = `16.0.${c.rng.range(15000, 17999)}.${c.rng.range(10000, 20999)}`;
  r.ExternalAccess = false;
  r.InternalLogonType = 0;
  r.LogonType = 0;
  r.LogonUserSid = `S-1-5-21-${c.rng.range(1e9, 4e9)}-${c.rng.range(1e9, 4e9)}-${c.rng.range(1e9, 4e9)}-${c.rng.range(1e6, 9e6)}`;
  r.MailboxGuid = c.rng.guid();
  r.MailboxOwnerSid = r.LogonUserSid;
  r.MailboxOwnerUPN = owner.upn;
  r.OrganizationName = c.t.domain;
  r.OriginatingServer = originatingServer(c);
  r.SessionId = c.rng.guid();
  if (c.rng.chance(0.3)) {
    r.AuthType = 'Bearer';
    r.TokenObjectId = c.rng.guid();
    r.TokenTenantId = c.t.tenantId;
    r.TokenType = c.rng.pick(['V1AppActAs', 'V2AppActAs', 'ActAsUser']);
  }
}

function item(c: RecordContext): AuditRecord {
  const u = person(c);
  const ip = clientIp(c);
  const op = c.rng.pick(['Create', 'Update', 'Send', 'MoveToDeletedItems', 'SendAs']);
  const r = head(c, op, 2, 'Succeeded', u.puid, 0, 'Exchange');
  r.ClientIP = ip;
  r.UserId = u.upn;
  mailboxFields(c, r, u, ip);
  r.ClientRequestId = c.rng.guid();
  if (op === 'Update') {
    r.ModifiedProperties = c.rng.pick([['Body', 'Subject'], ['RecipientCollection'], ['AttachmentCollection', 'Body']]);
  }
  r.Item = {
    Id: itemId(c),
    InternetMessageId: messageId(c, c.t.domain.replace('.onmicrosoft.com', '.mail.onmicrosoft.com')),
    IsRecord: false,
    ParentFolder: { Id: itemId(c), Path: c.rng.pick(FOLDERS) },
    SizeInBytes: c.rng.range(2_000, 900_000),
    Subject: fill(c.rng.pick(SUBJECTS), c.rng.range(1000, 99999), c.rng.range(1, 4)),
  };
  return r;
}

function itemGroup(c: RecordContext): AuditRecord {
  const u = person(c);
  const ip = clientIp(c);
  const r = head(c, c.rng.pick(['SoftDelete', 'HardDelete', 'MoveToDeletedItems', 'Move']), 3, 'Succeeded', u.puid, 0, 'Exchange');
  r.ClientIP = ip;
  r.UserId = u.upn;
  mailboxFields(c, r, u, ip);
  r.CrossMailboxOperation = false;
  const n = c.rng.range(1, 4);
  const items: AuditRecord[] = [];
  for (let i = 0; i < n; i++) {
    items.push({
      Id: itemId(c),
      InternetMessageId: messageId(c, c.rng.pick(EXTERNAL_DOMAINS)),
      ParentFolder: { Id: itemId(c), Path: c.rng.pick(FOLDERS) },
      Subject: fill(c.rng.pick(SUBJECTS), c.rng.range(1000, 99999), c.rng.range(1, 4)),
    });
  }
  r.AffectedItems = items;
  r.Folder = { Id: itemId(c), Path: c.rng.pick(FOLDERS) };
  return r;
}

const CMDLETS: ReadonlyArray<[string, (c: RecordContext, target: Person) => Array<{ Name: string; Value: string }>]> = [
  ['New-InboxRule', (c, t) => [
    { Name: 'Mailbox', Value: t.upn },
    { Name: 'Name', Value: 'Rule ' + c.rng.range(1, 99) },
    { Name: 'MoveToFolder', Value: 'Archive' },
    { Name: 'StopProcessingRules', Value: 'True' },
  ]],
  ['Set-Mailbox', (c, t) => [
    { Name: 'Identity', Value: t.upn },
    { Name: 'ForwardingSmtpAddress', Value: `smtp:${t.upn.split('@')[0]}@${c.rng.pick(EXTERNAL_DOMAINS)}` },
    { Name: 'DeliverToMailboxAndForward', Value: 'True' },
  ]],
  ['Add-MailboxPermission', (c, t) => [
    { Name: 'Identity', Value: t.upn },
    { Name: 'User', Value: c.rng.pick(c.t.users).upn },
    { Name: 'AccessRights', Value: 'FullAccess' },
    { Name: 'InheritanceType', Value: 'All' },
  ]],
  ['Set-MailboxAuditBypassAssociation', (_c, t) => [
    { Name: 'Identity', Value: t.upn },
    { Name: 'AuditBypassEnabled', Value: 'False' },
  ]],
];

function adminCmdlet(c: RecordContext): AuditRecord {
  const a = admin(c);
  const target = person(c);
  const [op, params] = c.rng.pick(CMDLETS);
  const r = head(c, op, 1, 'True', a.puid, 2, 'Exchange');
  r.ClientIP = `${c.rng.pick(c.t.ipv4)}:${c.rng.range(1024, 65535)}`;
  r.ObjectId = `${c.rng.pick(SERVERS)}A0${c.rng.range(10, 99)}.PROD.OUTLOOK.COM/Microsoft Exchange Hosted Organizations/${c.t.domain}/${target.upn.split('@')[0]}`;
  r.UserId = a.upn;
  r.AppId = '00000002-0000-0ff1-ce00-000000000000';
  r.ClientAppId = '';
  r.ExternalAccess = false;
  r.OrganizationName = c.t.domain;
  r.OriginatingServer = originatingServer(c).trimEnd();
  r.Parameters = params(c, target);
  r.SessionId = c.rng.guid();
  return r;
}

function mailItemsAccessed(c: RecordContext): AuditRecord {
  const u = person(c);
  const ip = clientIp(c);
  const r = head(c, 'MailItemsAccessed', 50, 'Succeeded', u.puid, c.rng.chance(0.2) ? 5 : 0, 'Exchange');
  r.ClientIP = ip;
  r.UserId = u.upn;
  mailboxFields(c, r, u, ip);
  r.DeviceId = c.rng.chance(0.3) ? c.rng.guid() : '';
  r.OperationProperties = [
    { Name: 'MailAccessType', Value: c.rng.chance(0.7) ? 'Bind' : 'Sync' },
    { Name: 'IsThrottled', Value: 'False' },
  ];
  const n = c.rng.range(1, 3);
  const folderItems: AuditRecord[] = [];
  for (let i = 0; i < n; i++) {
    folderItems.push({ Id: itemId(c), InternetMessageId: messageId(c, c.rng.pick(EXTERNAL_DOMAINS)), SizeInBytes: c.rng.range(3_000, 400_000) });
  }
  r.Folders = [{ FolderItems: folderItems, Id: itemId(c), Path: c.rng.pick(FOLDERS) }];
  r.OperationCount = n;
  return r;
}

export const EXCHANGE_MIX: WeightedTable<RecordBuilder> = weightedTable<RecordBuilder>([
  [mailItemsAccessed, 0.38],
  [item, 0.3],
  [itemGroup, 0.2],
  [adminCmdlet, 0.12],
]);
