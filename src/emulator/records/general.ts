/** Audit.General: the Defender types plus Teams (25), compliance alerts (40), Power BI (20), Forms (66). */
import { weightedTable, type WeightedTable } from '../rand';
import { appAccessContext, clientIp, head, person, type AuditRecord, type RecordBuilder, type RecordContext } from './common';
import { airInvestigation, atpDetection, tiMail, tiUrlClick } from './defender';

function teams(c: RecordContext): AuditRecord {
  const rng = c.rng;
  const u = person(c);
  const other = person(c);
  const op = rng.pick(['MessageCreatedHasLink', 'ChatCreated', 'MessageSent', 'MemberAdded', 'TeamCreated', 'MeetingParticipantDetail']);
  const r = head(c, op, 25, undefined, u.objectId, 0, 'MicrosoftTeams');
  if (rng.chance(0.4)) r.AppAccessContext = appAccessContext(c);
  r.ClientIP = clientIp(c);
  r.UserId = u.upn;
  const thread = `19:${rng.guid()}_${rng.guid()}@unq.gbl.spaces`;
  r.ChatThreadId = thread;
  r.CommunicationType = rng.pick(['OneOnOne', 'GroupChat', 'Team']);
  r.ExtraProperties = [
    { Key: 'TimeZone', Value: rng.pick(['Europe/Paris', 'America/New_York', 'Asia/Tokyo', 'UTC']) },
    { Key: 'OsName', Value: rng.pick(['windows', 'macos', 'ios', 'android']) },
    { Key: 'ClientName', Value: 'skypeteams' },
    { Key: 'ClientVersion', Value: `27/1.0.0.${rng.range(2023010100, 2024123199)}` },
  ];
  r.ItemName = thread;
  if (op.startsWith('Message')) {
    r.MessageId = String(c.ms - rng.range(0, 5000));
    r.MessageVersion = r.MessageId;
    if (op === 'MessageCreatedHasLink') r.MessageURLs = [`https://${c.t.spoName}.sharepoint.com/:w:/s/team/${rng.hex(22)}`];
  }
  r.Members = [
    { DisplayName: u.displayName, Role: 1, UPN: u.upn },
    { DisplayName: other.displayName, Role: 0, UPN: other.upn },
  ];
  if (op === 'ChatCreated') {
    const foreign = rng.chance(0.2);
    const foreignTenant = rng.guid();
    r.ParticipantInfo = {
      HasForeignTenantUsers: foreign,
      HasGuestUsers: rng.chance(0.1),
      HasOtherGuestUsers: false,
      HasUnauthenticatedUsers: false,
      ParticipatingDomains: foreign ? [c.t.domain, 'partner.example.org'] : [],
      ParticipatingSIPDomains: foreign ? [{ DomainName: 'partner.example.org', TenantId: foreignTenant }] : [],
      ParticipatingTenantIds: foreign ? [c.t.tenantId, foreignTenant] : [c.t.tenantId],
    };
    r.ResourceTenantId = c.t.tenantId;
  }
  if (op === 'TeamCreated' || op === 'MemberAdded') {
    r.TeamGuid = `19:${rng.hex(32)}@thread.tacv2`;
    r.TeamName = rng.pick(['Project Falcon', 'Finance', 'IT Support', 'All Company']);
  }
  return r;
}

function complianceAlert(c: RecordContext): AuditRecord {
  const rng = c.rng;
  const u = person(c);
  const op = rng.pick(['AlertTriggered', 'AlertEntityGenerated', 'AlertUpdated']);
  const alert = rng.pick([
    ['Email reported by user as malware or phish', 'Low', 'UserSubmission'],
    ['Suspicious email sending patterns detected', 'Medium', 'CompromisedAccount'],
    ['Creation of forwarding/redirect rule', 'Informational', 'New-InboxRule'],
    ['Elevation of Exchange admin privilege', 'Low', 'Add-RoleGroupMember'],
  ] as const);
  const r = head(c, op, 40, 'Succeeded', 'SecurityComplianceAlerts', 4, 'SecurityComplianceCenter');
  r.ObjectId = rng.guid();
  r.UserId = 'SecurityComplianceAlerts';
  r.AlertId = rng.guid();
  r.AlertLinks = [];
  r.AlertType = 'System';
  r.Category = 'ThreatManagement';
  r.Comments = 'New alert';
  r.Data = JSON.stringify({
    f3u: u.upn,
    ts: new Date(c.ms - 600_000).toISOString().slice(0, 19) + 'Z',
    te: new Date(c.ms - 540_000).toISOString().slice(0, 19) + 'Z',
    op: alert[2],
    wl: 'SecurityComplianceCenter',
    tid: c.t.tenantId,
    tdc: '1',
    reid: rng.guid(),
    mdt: 'Audit',
    an: alert[0],
    sev: alert[1],
  });
  r.Name = alert[0];
  r.PolicyId = rng.guid();
  r.Severity = alert[1];
  r.Source = 'Office 365 Security & Compliance';
  r.Status = op === 'AlertUpdated' ? rng.pick(['Investigating', 'Resolved']) : 'Active';
  if (op === 'AlertEntityGenerated') {
    const kind = rng.pick(['User', 'MaliciousUrl', 'MalwareFamily'] as const);
    r.AlertEntityId = kind === 'User' ? u.upn : kind === 'MaliciousUrl' ? 'https://login-verify.example/office/auth' : rng.guid();
    r.EntityType = kind;
  }
  return r;
}

function powerBi(c: RecordContext): AuditRecord {
  const rng = c.rng;
  const u = person(c);
  const report = rng.pick(['Sales Dashboard', 'Pipeline', 'HR Headcount', 'Support KPIs']);
  const r = head(c, 'ViewReport', 20, undefined, u.puid, 0, 'PowerBI');
  r.ClientIP = clientIp(c);
  r.UserId = u.upn;
  r.Activity = 'ViewReport';
  r.UserAgent = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
  r.ItemName = report;
  r.WorkSpaceName = rng.pick(['Finance', 'Sales', 'My workspace']);
  r.DatasetName = report;
  r.ReportName = report;
  r.WorkspaceId = rng.guid();
  r.ObjectId = report;
  r.DatasetId = rng.guid();
  r.ReportId = rng.guid();
  r.IsSuccess = true;
  r.RequestId = rng.guid();
  r.ActivityId = rng.guid();
  r.DistributionMethod = 'Workspace';
  r.ConsumptionMethod = 'Power BI Web';
  if (rng.chance(0.5)) {
    r.CapacityId = rng.hex(8, true);
    r.CapacityName = 'Premium Per User - Reserved';
  }
  if (rng.chance(0.3)) r.AppName = 'Management dashboards';
  r.ArtifactId = r.ReportId;
  r.ArtifactName = report;
  r.ArtifactKind = 'Report';
  r.ReportType = 'PowerBIReport';
  return r;
}

function forms(c: RecordContext): AuditRecord {
  const rng = c.rng;
  const u = person(c);
  const op = rng.pick(['EditForm', 'ViewForm', 'CreateForm', 'ViewResponses']);
  const r = head(c, op, 66, 'Succeeded', u.puid, 0, 'MicrosoftForms');
  r.ClientIP = clientIp(c);
  r.ObjectId = `https://forms.office.com/Pages/DesignPageV2.aspx?id=${rng.hex(40)}`;
  r.UserId = u.upn;
  r.FormsUserType = 'Admin';
  r.SourceApp = 'Microsoft Forms';
  r.FormName = rng.pick(['Event feedback', 'Onboarding survey', 'Lunch order']);
  r.FormId = rng.hex(40);
  r.FormType = 1;
  if (op === 'EditForm') r.ActivityParameters = JSON.stringify({ EditOperation: rng.pick(['QuestionUpdated', 'QuestionAdded', 'TitleUpdated']) });
  return r;
}

export const GENERAL_MIX: WeightedTable<RecordBuilder> = weightedTable<RecordBuilder>([
  [tiMail, 0.2],
  [tiUrlClick, 0.08],
  [atpDetection, 0.05],
  [airInvestigation, 0.04],
  [teams, 0.33],
  [complianceAlert, 0.12],
  [powerBi, 0.12],
  [forms, 0.06],
]);
