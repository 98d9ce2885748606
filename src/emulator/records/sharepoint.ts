/** Audit.SharePoint: file operations (6), site events (4), sharing (14), lists (36), list items (54). */
import { weightedTable, type WeightedTable } from '../rand';
import { BROWSERS, FILE_NAMES, PLATFORMS, USER_AGENTS, fill } from './vocab';
import { appAccessContext, clientIp, head, person, type AuditRecord, type RecordBuilder, type RecordContext } from './common';
import type { Person } from './identity';

const LIBRARIES = ['Shared Documents', 'Documents', 'Site Assets', 'Shared Documents/Projects'] as const;
const SITES = ['hr', 'finance', 'sales', 'engineering', 'marketing', 'legal'] as const;

interface Place {
  oneDrive: boolean;
  siteUrl: string;
  relUrl: string;
  fileName: string;
  ext: string;
}

function place(c: RecordContext, u: Person): Place {
  const oneDrive = c.rng.chance(0.4);
  const fileName = fill(c.rng.pick(FILE_NAMES), c.rng.range(100, 9999), c.rng.range(1, 4));
  const ext = fileName.slice(fileName.lastIndexOf('.') + 1);
  const siteUrl = oneDrive
    ? `https://${c.t.spoName}-my.sharepoint.com/personal/${u.upn.replace(/[.@]/g, '_')}/`
    : `https://${c.t.spoName}.sharepoint.com/sites/${c.rng.pick(SITES)}/`;
  return { oneDrive, siteUrl, relUrl: oneDrive ? 'Documents' : c.rng.pick(LIBRARIES), fileName, ext };
}

function spHeader(c: RecordContext, r: AuditRecord, u: Person, ip: string): void {
  const [browser, version] = c.rng.pick(BROWSERS);
  r.ClientIP = ip;
  r.UserId = u.upn;
  r.AuthenticationType = c.rng.pick(['FormsCookieAuth', 'OAuth']);
  r.BrowserName = browser;
  r.BrowserVersion = version;
  r.CorrelationId = c.rng.guid();
  r.EventSource = 'SharePoint';
  r.GeoLocation = c.rng.pick(['EUR', 'NAM', 'APC', 'GBR']);
  r.IsManagedDevice = c.rng.chance(0.5);
  r.Platform = c.rng.pick(PLATFORMS);
  r.UserAgent = c.rng.pick(USER_AGENTS);
  r.DeviceDisplayName = ip;
}

/** The part every file-level SharePoint/OneDrive record shares (operation, sharing). */
function fileHead(c: RecordContext, op: string, recordType: number, u: Person, ip: string, p: Place): AuditRecord {
  const r = head(c, op, recordType, undefined, u.puid.toLowerCase() + '@live.com', 0, p.oneDrive ? 'OneDrive' : 'SharePoint');
  r.AppAccessContext = appAccessContext(c);
  spHeader(c, r, u, ip);
  r.ItemType = 'File';
  r.ListId = c.rng.guid();
  r.ListItemUniqueId = c.rng.guid();
  r.Site = c.rng.pick(c.t.siteIds);
  r.WebId = c.rng.pick(c.t.webIds);
  return r;
}

function fileOperation(c: RecordContext): AuditRecord {
  const u = person(c);
  const ip = clientIp(c);
  const p = place(c, u);
  const op = c.rng.chance(0.01)
    ? 'FileMalwareDetected'
    : c.rng.pick(['FileAccessed', 'FileAccessed', 'FileModified', 'FileDownloaded', 'FileUploaded', 'FilePreviewed', 'FileSyncDownloadedFull', 'FileDeleted', 'FileRecycled']);
  const r = fileHead(c, op, 6, u, ip, p);
  r.FileSizeBytes = c.rng.range(1_000, 40_000_000);
  r.HighPriorityMediaProcessing = false;
  r.ListBaseType = 1;
  r.ListServerTemplate = p.oneDrive ? 700 : 101;
  r.UserSessionId = c.rng.guid();
  r.DoNotDistributeEvent = c.rng.chance(0.1);
  if (c.rng.chance(0.3)) {
    const [appId, appName] = c.rng.pick(SP_APPS);
    r.ApplicationId = appId;
    r.ApplicationDisplayName = appName;
  }
  if (op === 'FileMalwareDetected') {
    r.VirusInfo = c.rng.pick(['Trojan:Win32/Wacatac.B!ml', 'Win32/KeyLogger.RDI!MTB', 'HTML/Phish.VS!MSR']);
    r.VirusVendor = c.rng.pick(['Advanced Threat Protection', 'Default']);
    r.MD5Hash = c.rng.hex(32);
    r.SHA256Hash = c.rng.hex(64);
  }
  if (op === 'FileSyncDownloadedFull' || op === 'FileUploaded') {
    r.MachineDomainInfo = c.rng.guid();
    r.MachineId = c.rng.guid();
  }
  r.SourceFileExtension = p.ext;
  r.SiteUrl = p.siteUrl;
  r.SourceRelativeUrl = p.relUrl;
  r.SourceFileName = p.fileName;
  r.ObjectId = `${p.siteUrl}${p.relUrl}/${p.fileName}`;
  return r;
}

const SP_APPS = [
  ['08e18876-6177-487e-b8b5-cf950c1e598c', 'SharePoint Online Web Client Extensibility'],
  ['d3590ed6-52b3-4102-aeff-aad2292ab01c', 'Microsoft Office'],
  ['ab9b8c07-8f02-4f72-87fa-80105867a763', 'OneDrive SyncEngine'],
] as const;

function siteEvent(c: RecordContext): AuditRecord {
  const u = person(c);
  const ip = clientIp(c);
  const op = c.rng.pick(['PageViewed', 'SearchQueryPerformed', 'ManagedSyncClientAllowed', 'SiteCollectionAdminAdded', 'PageViewedExtended']);
  const r = head(c, op, 4, undefined, u.puid.toLowerCase() + '@live.com', 0, 'SharePoint');
  r.AppAccessContext = appAccessContext(c);
  spHeader(c, r, u, ip);
  r.ItemType = op.startsWith('Page') ? 'Page' : 'Site';
  r.Site = c.rng.pick(c.t.siteIds);
  r.WebId = c.rng.pick(c.t.webIds);
  if (op === 'ManagedSyncClientAllowed') {
    r.MachineDomainInfo = c.rng.guid();
    r.MachineId = c.rng.guid();
  }
  r.ObjectId = `https://${c.t.spoName}.sharepoint.com/sites/${c.rng.pick(SITES)}/SitePages/Home.aspx`;
  return r;
}

function sharing(c: RecordContext): AuditRecord {
  const u = person(c);
  const ip = clientIp(c);
  const p = place(c, u);
  const target = person(c);
  const op = c.rng.pick(['SharingSet', 'AddedToSecureLink', 'SharingInvitationCreated', 'AnonymousLinkCreated', 'AccessRequestCreated']);
  const r = fileHead(c, op, 14, u, ip, p);
  if (c.rng.chance(0.5)) r.UniqueSharingId = c.rng.guid();
  if (c.rng.chance(0.3)) {
    const [appId, appName] = c.rng.pick(SP_APPS);
    r.ApplicationId = appId;
    r.ApplicationDisplayName = appName;
  }
  r.EventData = `<PermissionsGranted>${c.rng.pick(['Read', 'Contribute', 'View'])}</PermissionsGranted>`;
  r.SourceFileExtension = p.ext;
  r.TargetUserOrGroupType = op === 'AnonymousLinkCreated' ? 'Guest' : 'Member';
  r.TargetUserOrGroupName = op === 'AnonymousLinkCreated' ? 'Anonymous' : target.upn;
  r.SiteUrl = p.siteUrl;
  r.SourceRelativeUrl = p.relUrl;
  r.SourceFileName = p.fileName;
  r.ObjectId = `${p.siteUrl}${p.relUrl}/${p.fileName}`;
  return r;
}

function list(c: RecordContext, recordType: 36 | 54): AuditRecord {
  const u = person(c);
  const ip = clientIp(c);
  const op = recordType === 36 ? c.rng.pick(['ListViewed', 'ListCreated', 'ListUpdated']) : c.rng.pick(['ListItemViewed', 'ListItemCreated', 'ListItemUpdated']);
  const r = head(c, op, recordType, undefined, u.puid.toLowerCase() + '@live.com', 0, 'SharePoint');
  r.AppAccessContext = appAccessContext(c);
  spHeader(c, r, u, ip);
  r.ItemType = recordType === 36 ? 'List' : 'ListItem';
  r.ListId = c.rng.guid();
  r.Site = c.rng.pick(c.t.siteIds);
  r.WebId = c.rng.pick(c.t.webIds);
  r.ItemCount = c.rng.range(1, 500);
  r.ListBaseTemplateType = '100';
  r.ListBaseType = 'GenericList';
  r.ListTitle = c.rng.pick(['Issues', 'Tasks', 'Assets', 'Requests', 'Contacts']);
  if (recordType === 36) {
    r.CustomizedDoclib = false;
    r.FromApp = c.rng.chance(0.3);
    r.ListColor = '';
    r.ListIcon = '';
    r.Source = 'Unknown';
    r.TemplateTypeId = '';
  }
  r.ObjectId = `https://${c.t.spoName}.sharepoint.com/sites/${c.rng.pick(SITES)}/Lists/${r.ListTitle as string}`;
  return r;
}

export const SHAREPOINT_MIX: WeightedTable<RecordBuilder> = weightedTable<RecordBuilder>([
  [fileOperation, 0.55],
  [siteEvent, 0.15],
  [sharing, 0.12],
  [(c) => list(c, 36), 0.1],
  [(c) => list(c, 54), 0.08],
]);
