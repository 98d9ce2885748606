/** Audit.AzureActiveDirectory: sign-ins (15), directory changes (8), legacy account logons (9). */
import { weightedTable, type WeightedTable } from '../rand';
import { USER_AGENTS } from './vocab';
import { clientIp, head, person, admin, type RecordBuilder, type RecordContext, type AuditRecord } from './common';

const APPS = [
  ['00000002-0000-0ff1-ce00-000000000000', 'Office 365 Exchange Online'],
  ['00000003-0000-0ff1-ce00-000000000000', 'Office 365 SharePoint Online'],
  ['1fec8e78-bce4-4aaf-ab1b-5451cc387264', 'Microsoft Teams'],
  ['4765445b-32c6-49b0-83e6-1d93765276ca', 'OfficeHome'],
  ['d3590ed6-52b3-4102-aeff-aad2292ab01c', 'Microsoft Office'],
] as const;

const FAILURES = [
  ['50126', 'InvalidUserNameOrPassword'],
  ['50074', 'UserStrongAuthClientAuthNRequiredInterrupt'],
  ['50140', 'KmsiInterrupt'],
  ['50053', 'IdsLocked'],
] as const;

function signIn(c: RecordContext): AuditRecord {
  const failed = c.rng.chance(0.15);
  const u = person(c);
  const ip = clientIp(c);
  const [appId] = c.rng.pick(APPS);
  const r = head(c, failed ? 'UserLoginFailed' : 'UserLoggedIn', 15, failed ? 'Failed' : 'Succeeded', u.puid, 0, 'AzureActiveDirectory');
  r.ClientIP = ip;
  r.ObjectId = appId;
  r.UserId = u.upn;
  r.AzureActiveDirectoryEventType = 1;
  r.ExtendedProperties = [
    { Name: 'ResultStatusDetail', Value: failed ? 'Failed' : 'Success' },
    { Name: 'UserAgent', Value: c.rng.pick(USER_AGENTS) },
    { Name: 'UserAuthenticationMethod', Value: String(c.rng.range(1, 6)) },
    { Name: 'RequestType', Value: c.rng.pick(['OAuth2:Authorize', 'OAuth2:Token', 'Login:login', 'SAS:ProcessAuth']) },
  ];
  r.ModifiedProperties = [];
  r.Actor = [
    { ID: u.objectId, Type: 0 },
    { ID: u.upn, Type: 5 },
  ];
  r.ActorContextId = c.t.tenantId;
  r.ActorIpAddress = ip;
  r.InterSystemsId = c.rng.guid();
  r.IntraSystemId = c.rng.guid();
  r.SupportTicketId = '';
  r.Target = [{ ID: appId, Type: 0 }];
  r.TargetContextId = c.t.tenantId;
  r.ApplicationId = appId;
  r.DeviceProperties = [
    { Name: 'OS', Value: c.rng.pick(['Windows10', 'MacOs', 'Ios', 'Android']) },
    { Name: 'BrowserType', Value: c.rng.pick(['Edge', 'Chrome', 'Safari']) },
    { Name: 'IsCompliantAndManaged', Value: c.rng.chance(0.6) ? 'True' : 'False' },
    { Name: 'SessionId', Value: c.rng.guid() },
  ];
  if (failed) {
    const [num, text] = c.rng.pick(FAILURES);
    r.ErrorNumber = num;
    r.LogonError = text;
  }
  return r;
}

const DIRECTORY_OPS = [
  'Add user.', 'Update user.', 'Add member to role.', 'Remove member from role.', 'Add member to group.',
  'Update group.', 'Consent to application.', 'Add service principal.', 'Reset user password.', 'Add application.',
] as const;

function directory(c: RecordContext): AuditRecord {
  const actor = admin(c);
  const target = person(c);
  const op = c.rng.pick(DIRECTORY_OPS);
  const r = head(c, op, 8, 'Success', actor.puid + '@' + c.t.domain, 0, 'AzureActiveDirectory');
  // Documented as null for Entra events; present on some real directory records.
  const ip = c.rng.chance(0.4) ? clientIp(c) : undefined;
  if (ip) r.ClientIP = ip;
  r.ObjectId = target.upn;
  r.UserId = actor.upn;
  r.AzureActiveDirectoryEventType = 1;
  r.ExtendedProperties = [
    { Name: 'additionalDetails', Value: JSON.stringify({ UserType: 'Member' }) },
    { Name: 'extendedAuditEventCategory', Value: op.includes('group') ? 'Group' : op.includes('application') ? 'Application' : 'User' },
  ];
  r.ModifiedProperties = [
    { Name: 'AccountEnabled', NewValue: '[true]', OldValue: '[]' },
    { Name: 'Included Updated Properties', NewValue: 'AccountEnabled', OldValue: '' },
  ];
  r.Actor = [
    { ID: actor.upn, Type: 5 },
    { ID: actor.puid, Type: 3 },
    { ID: 'User_' + actor.objectId, Type: 2 },
    { ID: actor.objectId, Type: 2 },
    { ID: 'User', Type: 2 },
  ];
  r.ActorContextId = c.t.tenantId;
  if (ip) r.ActorIpAddress = ip;
  r.InterSystemsId = c.rng.guid();
  r.IntraSystemId = c.rng.guid();
  r.SupportTicketId = '';
  r.Target = [
    { ID: 'User_' + target.objectId, Type: 2 },
    { ID: target.objectId, Type: 2 },
    { ID: 'User', Type: 2 },
    { ID: target.upn, Type: 5 },
    { ID: target.puid, Type: 3 },
  ];
  r.TargetContextId = c.t.tenantId;
  if (c.rng.chance(0.1)) r.AssociatedAdminUnits = [c.rng.guid()];
  return r;
}

/** Type 9, as in the reference's own sample (old-style password logon). */
function accountLogon(c: RecordContext): AuditRecord {
  const u = person(c);
  const ok = c.rng.chance(0.8);
  const r = head(c, 'PasswordLogonInitialAuthUsingPassword', 9, ok ? 'success' : 'failed', u.puid + '@' + c.t.domain, 0, 'AzureActiveDirectory');
  r.ClientIP = clientIp(c);
  r.ObjectId = u.upn;
  r.UserId = u.upn;
  r.AzureActiveDirectoryEventType = 0;
  if (!ok) r.ExtendedProperties = [{ Name: 'LoginError', Value: '-2147217390;PP_E_BAD_PASSWORD;The entered and stored passwords do not match.' }];
  r.Client = 'Exchange';
  r.LoginStatus = ok ? 0 : -2147217390;
  r.UserDomain = c.t.domain;
  return r;
}

export const AAD_MIX: WeightedTable<RecordBuilder> = weightedTable<RecordBuilder>([
  [signIn, 0.75],
  [directory, 0.22],
  [accountLogon, 0.03],
]);
