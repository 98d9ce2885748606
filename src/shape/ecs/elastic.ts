/**
 * The fields Elastic's o365 integration writes, computed the way its ingest pipeline computes them
 * (elastic/integrations packages/o365/data_stream/audit/elasticsearch/ingest_pipeline/default.yml, read
 * from the public repository; none of its text is copied). The order of the steps follows the pipeline
 * where the order changes a result (which client IP field wins, user.email from MailboxOwnerUPN then from
 * UserId, related.user order). Deliberate differences are listed in docs/ecs.md; each has a test.
 *
 * Input: one parsed record (never modified). Output: the ECS part of the document and `o365.audit`.
 */
import { parseClientAddress, parseServerAddress, type Address } from './address';
import { DATA_DATE_KEYS, DATA_KNOWN_KEYS, MAX_LIST_KEYS } from './fields';
import { addUnique, isObj, isoMillis, scalarish, splitMail, str, sub, toStr, type Obj } from './util';
import { isIP } from 'node:net';

/** Elastic's record-type names where they differ from the documented names in schemas/record-types.json. */
export const ELASTIC_CODE_OVERRIDES: Readonly<Record<number, string>> = { 12: 'Sway', 22: 'Yammer', 44: 'WorkplaceAnalytics' };

const SUCCESS = new Set(['succeeded', 'success', 'partiallysucceeded', 'true']);
const FAILURE = new Set(['failed', 'false']);
const SEVERITY: Readonly<Record<string, number>> = { informational: 1, low: 2, medium: 3, high: 4 };
const PLATFORM: Readonly<Record<string, string>> = { 0: 'Unknown', 1: 'Windows', 2: 'MacOS', 3: 'iOS', 4: 'Android', 5: 'Web Browser' };
const FILE_ACTIONS = new Set([
  'FileAccessed', 'FileDeleted', 'FileDownloaded', 'FileModified', 'FileMoved', 'FileRenamed', 'FileRestored', 'FileUploaded',
  'FolderCopied', 'FolderCreated', 'FolderDeleted', 'FolderModified', 'FolderMoved', 'FolderRenamed', 'FolderRestored',
]);
const TYPE_CHANGE = new Set(['ComplianceSettingChanged', 'FileModified', 'FileMoved', 'FileRenamed', 'FileRestored', 'FolderModified', 'FolderMoved', 'FolderRenamed', 'FolderRestored']);
const TO_STRING = ['AzureActiveDirectoryEventType', 'RecordType', 'UserType', 'Version', 'InternalLogonType', 'LogonType', 'ActorYammerUserId', 'YammerNetworkId'];
const QUERY_TIME_DUP = /,"QueryTime":"[0-9/]+\s[0-9]+:[0-9]+:[0-9]+\s[AP]M"|"QueryTime":"[0-9/]+\s[0-9]+:[0-9]+:[0-9]+\s[AP]M",/g;

export interface ShapeState {
  doc: Obj;
  event: Obj;
  audit: Obj;
  category: string[];
  type: string[];
  relatedIp: string[];
  relatedUser: string[];
  relatedHash: string[];
  /** Lists cut to MAX_LIST_KEYS keys. */
  truncated: string[];
  code: string | undefined;
}

/** Name/value list → object (`Name` → `Value`, entries without a value skipped); undefined when not a list. */
function nameValue(list: unknown, st: ShapeState, what: string): Obj | undefined {
  if (!Array.isArray(list)) return undefined;
  const out: Obj = {};
  let n = 0;
  for (const e of list) {
    if (!isObj(e) || e.Value === null || e.Value === undefined) continue;
    const name = toStr(e.Name);
    if (name === undefined) continue;
    if (!(name in out) && ++n > MAX_LIST_KEYS) {
      if (!st.truncated.includes(what)) st.truncated.push(what);
      continue;
    }
    out[name] = e.Value;
  }
  return out;
}

function modifiedProperties(list: unknown[], st: ShapeState): Obj | undefined {
  const out: Obj = {};
  let n = 0;
  for (const e of list) {
    let name: string | undefined;
    let v: Obj | undefined;
    if (isObj(e) && e.OldValue !== null && e.OldValue !== undefined && e.NewValue !== null && e.NewValue !== undefined) {
      name = toStr(e.Name);
      v = { NewValue: e.NewValue, OldValue: e.OldValue };
    } else if (typeof e === 'string') {
      name = e;
      v = {};
    }
    if (name === undefined || v === undefined) continue;
    const key = name.replace(/ /g, '_').replace(/\./g, '_');
    if (!(key in out) && ++n > MAX_LIST_KEYS) {
      if (!st.truncated.includes('ModifiedProperties')) st.truncated.push('ModifiedProperties');
      continue;
    }
    out[key] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function parseJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

function setAddress(doc: Obj, key: 'client' | 'server', a: Address): void {
  const o = sub(doc, key);
  if (a.address !== undefined) o.address = a.address;
  if (a.domain !== undefined) o.domain = a.domain;
  if (a.ip !== undefined) o.ip = a.ip;
  if (key === 'client' && a.port !== undefined) o.port = a.port;
}

/** user.email/domain/name from user.id when it is `name@domain` (Elastic's splitmail scripts). */
function splitUser(u: unknown): void {
  if (!isObj(u)) return;
  const id = u.id;
  if (typeof id !== 'string') return;
  const p = splitMail(id);
  if (!p) return;
  u.email = id;
  u.domain = p[1];
  u.name = p[0];
}

function isMailLike(v: unknown): v is string {
  return typeof v === 'string' && v.length >= 3 && splitMail(v) !== undefined;
}

/**
 * Runs the mirror of Elastic's pipeline. `code` is the record type's name (Elastic's table, else ours).
 * `skipUserId`: a placeholder UserId (ThreatIntel, …) that is kept out of user.* (docs/ecs.md).
 */
export function mirrorElastic(rec: Obj, code: string | undefined, skipUserId: boolean): ShapeState {
  const doc: Obj = {};
  const event: Obj = { kind: 'event' };
  const st: ShapeState = { doc, event, audit: {}, category: ['web'], type: ['info'], relatedIp: [], relatedUser: [], relatedHash: [], truncated: [], code };
  const audit = st.audit;

  // o365.audit: every field of the record, then the renamed ones taken out and the converted ones replaced.
  for (const k in rec) audit[k] = rec[k];

  // Into an ECS field only a value of its shape: anything else stays in o365.audit (index.ts moves
  // what would not fit there either), so one odd value never makes Elasticsearch refuse the document.
  const move = (k: string): unknown => {
    const v = audit[k];
    if (v === null || v === undefined || !scalarish(v)) return undefined;
    delete audit[k];
    return v;
  };

  const id = audit.Id;
  if (id !== null && id !== undefined) event.id = move('Id');
  if (audit.ListBaseType !== null && audit.ListBaseType !== undefined) {
    const s = toStr(audit.ListBaseType);
    if (s !== undefined) audit.ListBaseType = s;
  }

  // Client address: ClientIPAddress, else ClientIP, else ActorIpAddress (the one taken leaves o365.audit).
  let clientRaw: unknown;
  for (const k of ['ClientIPAddress', 'ClientIP', 'ActorIpAddress']) {
    if (audit[k] !== null && audit[k] !== undefined) {
      clientRaw = move(k);
      break;
    }
  }
  const user: Obj = {};
  if (!skipUserId) {
    const uid = toStr(audit.UserId);
    if (uid !== undefined) user.id = uid;
  }
  const provider = move('Workload');
  if (provider !== undefined) event.provider = provider;
  const action = move('Operation');
  if (action !== undefined) event.action = action;
  const org = move('OrganizationId');
  if (org !== undefined) doc.organization = { id: org };
  for (const k of ['AdditionalInfo', 'OperationProperties']) {
    if (typeof audit[k] === 'string') {
      const v = parseJson(audit[k] as string);
      if (v === undefined) {
        delete audit[k];
        (doc.error as Obj | undefined) ?? (doc.error = { message: [] });
        ((doc.error as Obj).message as string[]).push(`${k}: not valid JSON`);
      } else audit[k] = v;
    }
  }
  const ua = move('UserAgent');
  const userAgent: Obj = {};
  if (ua !== undefined) userAgent.original = ua;
  if (code !== undefined) event.code = code;

  if (typeof audit.ResultStatus === 'string') {
    const rs = audit.ResultStatus.toLowerCase();
    if (SUCCESS.has(rs)) event.outcome = 'success';
    else if (FAILURE.has(rs)) event.outcome = 'failure';
  }
  if (event.outcome === undefined) event.outcome = 'success';

  if (Array.isArray(audit.Parameters)) audit.Parameters = nameValue(audit.Parameters, st, 'Parameters');
  else if (typeof audit.Parameters === 'string') {
    audit.Parameters = { _raw: audit.Parameters };
    if (audit.NetworkMessageId === null || audit.NetworkMessageId === undefined || audit.NetworkMessageId === '') {
      const m = /(-)?Identity"(.*)"$/.exec((audit.Parameters as Obj)._raw as string);
      if (m) audit.NetworkMessageId = m[2];
    }
  }
  if (audit.Platform !== null && audit.Platform !== undefined) {
    const p = PLATFORM[toStr(audit.Platform) ?? ''];
    if (p !== undefined) audit.Platform = p;
  }
  if (Array.isArray(audit.ExtendedProperties)) audit.ExtendedProperties = nameValue(audit.ExtendedProperties, st, 'ExtendedProperties');
  else if (typeof audit.ExtendedProperties === 'string') audit.ExtendedProperties = { _raw: audit.ExtendedProperties };
  if (Array.isArray(audit.ModifiedProperties)) {
    const mp = modifiedProperties(audit.ModifiedProperties, st);
    if (mp === undefined) delete audit.ModifiedProperties;
    else audit.ModifiedProperties = mp;
  } else if (typeof audit.ModifiedProperties === 'string') audit.ModifiedProperties = { _raw: audit.ModifiedProperties };
  if (Array.isArray(audit.AlertLinks)) {
    const links: string[] = [];
    for (const l of audit.AlertLinks) if (isObj(l) && typeof l.AlertLinkHref === 'string') links.push(l.AlertLinkHref);
    if (links.length === 0) delete audit.AlertLinks;
    else audit.AlertLinks = links;
  }
  if (typeof audit.Severity === 'string' && SEVERITY[audit.Severity] !== undefined && audit.Severity === audit.Severity.toLowerCase()) {
    event.severity = SEVERITY[audit.Severity];
  }

  let serverRaw: unknown;
  const target: Obj = {};
  const rule: Obj = {};
  const file: Obj = {};
  const act = typeof event.action === 'string' ? event.action : undefined;
  const cat = st.category;
  const typ = st.type;

  switch (code) {
    case 'ExchangeAdmin': {
      const on = move('OrganizationName');
      if (on !== undefined) sub(doc, 'organization').name = on;
      serverRaw = move('OriginatingServer');
      break;
    }
    case 'ExchangeItem': {
      const upn = move('MailboxOwnerUPN');
      if (upn !== undefined) user.email = upn;
      if (user.id === undefined && audit.LogonUserSid !== null && audit.LogonUserSid !== undefined) {
        const sid = toStr(audit.LogonUserSid);
        if (sid !== undefined) user.id = sid;
      }
      const fn = move('LogonUserDisplayName');
      if (fn !== undefined) user.full_name = fn;
      const on = move('OrganizationName');
      if (on !== undefined) sub(doc, 'organization').name = on;
      serverRaw = move('OriginatingServer');
      const pn = move('ClientProcessName');
      if (pn !== undefined) doc.process = { name: pn };
      break;
    }
    case 'AzureActiveDirectory': {
      if (audit.ObjectId !== undefined && scalarish(audit.ObjectId)) target.id = audit.ObjectId;
      const renamed = act === 'Add user.' ? 'added-user-account' : act === 'Update user.' ? 'modified-user-account' : act === 'Delete user.' ? 'deleted-user-account' : undefined;
      if (renamed) {
        event.action = renamed;
        audit.Operation = act; // Elastic loses the original name here; we keep it (docs/ecs.md)
        cat.push('iam');
        typ.push('user', renamed === 'added-user-account' ? 'creation' : renamed === 'modified-user-account' ? 'change' : 'deletion');
      }
      break;
    }
    case 'AzureActiveDirectoryStsLogon':
      cat.push('authentication');
      typ.push('start', 'access');
      break;
    case 'SharePointFileOperation':
    case 'SharePointSharingOperation': {
      const u = move('ObjectId');
      if (u !== undefined) doc.url = { original: u };
      const dir = move('SourceRelativeUrl');
      if (dir !== undefined) file.directory = dir;
      const name = move('SourceFileName');
      if (name !== undefined) file.name = name;
      const ext = move('SourceFileExtension');
      if (ext !== undefined) file.extension = ext;
      break;
    }
    default:
      break;
  }
  if (act !== undefined) {
    if (FILE_ACTIONS.has(act)) cat.push('file');
    if (act === 'ComplianceSettingChanged') cat.push('configuration');
    if (act === 'FileAccessed' || act === 'FileDownloaded') typ.push('access');
    if (TYPE_CHANGE.has(act)) typ.push('change');
    if (act === 'FileDeleted' || act === 'FolderDeleted') typ.push('deletion');
    if (act === 'FileUploaded' || act === 'FolderCopied' || act === 'FolderCreated') typ.push('creation');
  }

  if (code === 'SecurityComplianceAlerts') {
    const c = move('Comments');
    if (c !== undefined) doc.message = c;
    const pairs: Array<[string, string]> = [['Name', 'name'], ['PolicyId', 'id'], ['Category', 'category'], ['EntityType', 'ruleset'], ['AlertEntityId', 'description'], ['AlertLinks', 'reference']];
    for (const [from, to] of pairs) {
      const v = move(from);
      if (v !== undefined) rule[to] = v;
    }
    event.kind = 'alert';
    // The pipeline's category appends read o365audit.Category after it was renamed away: only `web` (already there).
  } else if (code === 'ComplianceDLPSharePoint' || code === 'ComplianceDLPExchange') {
    dlp(st, user, file, rule, act);
  } else if (code === 'Yammer') {
    yammer(st, user, file, act);
  } else if (code === 'MicrosoftTeams') {
    teams(st, target, act);
  }

  // Addresses → client/server/source/destination.
  const ca = parseClientAddress(clientRaw);
  if (ca) setAddress(doc, 'client', ca);
  const sa = parseServerAddress(serverRaw);
  if (sa) setAddress(doc, 'server', sa);
  const client = doc.client as Obj | undefined;
  const server = doc.server as Obj | undefined;
  if (client?.ip !== undefined) {
    sub(doc, 'source').ip = client.ip;
    if (client.port !== undefined) sub(doc, 'source').port = client.port;
  }
  if (server?.ip !== undefined) sub(doc, 'destination').ip = server.ip;

  if (Object.keys(target).length > 0) user.target = target;
  splitUser(user);
  splitUser(user.target);
  splitUser((doc.source as Obj | undefined)?.user);
  splitUser((doc.destination as Obj | undefined)?.user);
  if (client?.ip !== undefined) doc.network = { type: (client.ip as string).includes(':') ? 'ipv6' : 'ipv4' };
  if (client?.ip !== undefined) addUnique(st.relatedIp, client.ip as string);
  if (server?.ip !== undefined) addUnique(st.relatedIp, server.ip as string);
  if (typeof user.name === 'string') addUnique(st.relatedUser, user.name);
  if (isObj(user.target) && typeof user.target.name === 'string') addUnique(st.relatedUser, user.target.name);
  if (typeof file.owner === 'string') addUnique(st.relatedUser, file.owner);
  const params = audit.Parameters;
  if (isObj(params) && typeof params.User === 'string') addUnique(st.relatedUser, params.User);
  const ext = audit.ExtendedProperties;
  if (isObj(ext) && ext.UserAgent !== null && ext.UserAgent !== undefined && scalarish(ext.UserAgent) && userAgent.original === undefined) {
    userAgent.original = ext.UserAgent;
    // A copy: when the record already carried an object here, it is the caller's.
    const { UserAgent: _ua, ...restExt } = ext;
    audit.ExtendedProperties = restExt;
  }

  // organization.id lower-cased; host from organization, else from the user's domain.
  const orgObj = doc.organization as Obj | undefined;
  if (orgObj && typeof orgObj.id === 'string') orgObj.id = orgObj.id.toLowerCase();
  if (orgObj?.id !== undefined) sub(doc, 'host').id = orgObj.id;
  if (orgObj?.name !== undefined) sub(doc, 'host').name = orgObj.name;
  else if (user.domain !== undefined) sub(doc, 'host').name = user.domain;

  for (const k of TO_STRING) {
    if (audit[k] !== null && audit[k] !== undefined) {
      const s = toStr(audit[k]);
      if (s !== undefined) audit[k] = s;
    }
  }
  if (event.provider === undefined && typeof audit.UserType === 'string' && audit.UserType !== '') event.provider = audit.UserType;
  for (const k of ['Actor', 'Target']) {
    const list = audit[k];
    if (!Array.isArray(list)) continue;
    audit[k] = list.map((e) => (isObj(e) && e.Type !== undefined && e.Type !== null && toStr(e.Type) !== undefined ? { ...e, Type: toStr(e.Type) } : e));
  }

  // Message fields any record may carry (the newest pipeline sets them for every record type).
  const email: Obj = {};
  if (str(audit.InternetMessageId)) email.message_id = audit.InternetMessageId;
  if (str(audit.NetworkMessageId)) email.local_id = audit.NetworkMessageId;
  if (str(audit.P1Sender)) email.sender = { address: audit.P1Sender };
  if (Array.isArray(audit.Recipients) && audit.Recipients.length > 0 && scalarish(audit.Recipients)) email.to = { address: audit.Recipients };
  // related.ip is an ip field: only addresses (Elastic appends any string; the index would drop a bad one).
  if (typeof audit.SenderIp === 'string' && isIP(audit.SenderIp)) addUnique(st.relatedIp, audit.SenderIp);
  if (typeof audit.SenderIP === 'string' && isIP(audit.SenderIP)) addUnique(st.relatedIp, audit.SenderIP);
  if (str(audit.Subject)) email.subject = audit.Subject;

  data(st, user, email);

  if (Object.keys(email).length > 0) doc.email = email;
  if (Object.keys(user).length > 0) doc.user = user;
  if (Object.keys(userAgent).length > 0) doc.user_agent = userAgent;
  if (Object.keys(rule).length > 0) doc.rule = rule;
  if (Object.keys(file).length > 0) doc.file = file;
  return st;
}

function dlp(st: ShapeState, user: Obj, file: Obj, rule: Obj, act: string | undefined): void {
  const { audit, doc, event } = st;
  event.kind = 'alert';
  st.category.push('file');
  st.type.push('access');
  const sp = isObj(audit.SharePointMetaData) ? (audit.SharePointMetaData as Obj) : undefined;
  const ex = isObj(audit.ExchangeMetaData) ? (audit.ExchangeMetaData as Obj) : undefined;
  const take = (o: Obj | undefined, k: string): unknown => {
    if (!o || o[k] === null || o[k] === undefined || !scalarish(o[k])) return undefined;
    const v = o[k];
    delete o[k];
    return v;
  };
  if (sp) {
    // The record's sub-objects are shared with the input: copy before taking fields out.
    audit.SharePointMetaData = { ...sp };
  }
  if (ex) audit.ExchangeMetaData = { ...ex };
  const spc = audit.SharePointMetaData as Obj | undefined;
  const exc = audit.ExchangeMetaData as Obj | undefined;
  if (user.id === undefined) {
    const f = take(spc, 'From');
    if (f !== undefined) user.id = f;
  }
  const pairs: Array<[string, string]> = [['FileName', 'name'], ['FilePathUrl', ''], ['UniqueId', 'inode'], ['UniqueID', 'inode'], ['FileOwner', 'owner']];
  for (const [k, to] of pairs) {
    const v = take(spc, k);
    if (v === undefined) continue;
    if (to === '') doc.url = { original: v };
    else file[to] = v;
  }
  const from = take(exc, 'From');
  if (from !== undefined) sub(sub(doc, 'source'), 'user').email = from;
  const subject = take(exc, 'Subject');
  if (subject !== undefined) doc.message = subject;
  const pid = audit.PolicyId;
  if (pid !== null && pid !== undefined && scalarish(pid)) {
    rule.id = pid;
    delete audit.PolicyId;
  }
  const pname = audit.PolicyName;
  if (pname !== null && pname !== undefined && scalarish(pname)) {
    rule.name = pname;
    delete audit.PolicyName;
  }
  if (spc && spc.LastModifiedTime !== null && spc.LastModifiedTime !== undefined) {
    const t = isoMillis(spc.LastModifiedTime);
    if (t !== undefined) file.mtime = t;
  }
  if (exc) {
    const to: unknown[] = [];
    for (const k of ['To', 'CC', 'BCC']) {
      const v = exc[k];
      if (Array.isArray(v)) to.push(...v.filter((x) => typeof x === 'string'));
      else if (typeof v === 'string') to.push(v);
    }
    sub(sub(doc, 'destination'), 'user').email = to;
  }
  if (typeof audit.ExceptionInfo === 'string') audit.ExceptionInfo = { Reason: audit.ExceptionInfo };
  if (audit.PolicyDetails !== null && audit.PolicyDetails !== undefined) {
    const ids: unknown[] = rule.id === undefined ? [] : Array.isArray(rule.id) ? rule.id : [rule.id];
    const names: unknown[] = rule.name === undefined ? [] : Array.isArray(rule.name) ? rule.name : [rule.name];
    let maxSev = 0;
    let allowed = true;
    if (Array.isArray(audit.PolicyDetails)) {
      for (const p of audit.PolicyDetails) {
        if (!isObj(p) || !Array.isArray(p.Rules)) continue;
        for (const r of p.Rules) {
          if (!isObj(r)) continue;
          if (r.RuleId !== null && r.RuleId !== undefined && r.RuleName !== null && r.RuleName !== undefined && scalarish(r.RuleId) && scalarish(r.RuleName)) {
            ids.push(r.RuleId);
            names.push(r.RuleName);
          }
          const sev = typeof r.Severity === 'string' ? SEVERITY[r.Severity.toLowerCase()] ?? 0 : 0;
          if (sev > maxSev) maxSev = sev;
          if (allowed && Array.isArray(r.Actions) && r.Actions.includes('BlockAccess')) allowed = false;
        }
      }
    }
    rule.id = ids;
    rule.name = names;
    event.severity = maxSev;
    const exInfo = audit.ExceptionInfo;
    const hasException = exInfo !== null && exInfo !== undefined && (isObj(exInfo) ? Object.keys(exInfo).length > 0 : String(exInfo).length > 0);
    event.outcome = allowed || act === 'DlpRuleUndo' ? 'success' : act === 'DlpInfo' ? 'failure' : hasException ? 'success' : 'failure';
  }
}

function yammer(st: ShapeState, user: Obj, file: Obj, act: string | undefined): void {
  const { audit, doc } = st;
  const take = (k: string): unknown => {
    const v = audit[k];
    if (v === null || v === undefined || !scalarish(v)) return undefined;
    delete audit[k];
    return v;
  };
  const au = take('ActorUserId');
  if (au !== undefined) user.email = au;
  if (user.id === undefined) {
    const y = toStr(audit.ActorYammerUserId);
    if (y !== undefined) user.id = y;
  }
  const fid = take('FileId');
  if (fid !== undefined) file.inode = fid;
  const fname = take('FileName');
  if (fname !== undefined) file.name = fname;
  const g = take('GroupName');
  if (g !== undefined) doc.group = { name: g };
  const tu = take('TargetUserId');
  if (tu !== undefined) sub(sub(doc, 'destination'), 'user').email = tu;
  const ty = take('TargetYammerUserId');
  if (ty !== undefined) sub(sub(doc, 'destination'), 'user').id = ty;
  if (act === undefined) return;
  const cat = st.category;
  const typ = st.type;
  const config = ['NetworkConfigurationUpdated', 'NetworkSecurityConfigurationUpdated', 'SoftDeleteSettingsUpdated', 'ProcessProfileFields', 'SupervisorAdminToggled'];
  if (config.includes(act)) cat.push('configuration');
  if (['NetworkSecurityConfigurationUpdated', 'GroupCreation', 'GroupDeletion', 'NetworkUserSuspended', 'UserSuspension'].includes(act)) cat.push('iam');
  if (['FileCreated', 'FileDownloaded', 'FileShared', 'FileUpdateDescription', 'FileUpdateName', 'FileVisited'].includes(act)) cat.push('file');
  if (config.includes(act)) typ.push('change');
  if (act === 'NetworkSecurityConfigurationUpdated') typ.push('admin');
  if (['FileCreated', 'GroupCreation', 'FileUpdateName'].includes(act)) typ.push('creation');
  if (act === 'GroupDeletion') typ.push('deletion');
  if (['FileDownloaded', 'FileShared', 'FileUpdateDescription', 'FileVisited'].includes(act)) typ.push('access');
  if (act === 'GroupCreation' || act === 'GroupDeletion') typ.push('group');
}

function teams(st: ShapeState, target: Obj, act: string | undefined): void {
  const { audit, doc, event } = st;
  if (act === 'TeamCreated') {
    event.action = 'added-group-account-to';
    audit.Operation = act;
    st.category.push('iam');
    st.type.push('group', 'creation');
  }
  if (audit.TeamName !== null && audit.TeamName !== undefined && scalarish(audit.TeamName)) {
    doc.group = { name: audit.TeamName };
    delete audit.TeamName;
  }
  if (act === 'MemberAdded') {
    event.action = 'added-users-to-group';
    audit.Operation = act;
    st.category.push('iam');
    st.type.push('group', 'change');
  }
  if (act === 'Delete user.') {
    event.action = 'deleted-user-account';
    audit.Operation = act;
    st.category.push('iam');
    st.type.push('user', 'deletion');
    if (audit.ObjectId !== null && audit.ObjectId !== undefined && scalarish(audit.ObjectId)) {
      target.id = audit.ObjectId;
      delete audit.ObjectId;
    }
  }
  if (Array.isArray(audit.Members)) {
    for (const m of audit.Members) if (isObj(m) && typeof m.UPN === 'string' && m.UPN.length > 0) st.relatedUser.push(m.UPN);
  }
}

/** AIR / alert `Data`: parsed, kept whole under Data.flattened, Elastic's known keys copied beside it. */
function data(st: ShapeState, user: Obj, email: Obj): void {
  const { audit } = st;
  if (!('Data' in audit)) return;
  let raw = audit.Data;
  if (typeof raw === 'string' && audit.RecordType === '64') raw = raw.replace(QUERY_TIME_DUP, '');
  const parsed = typeof raw === 'string' ? parseJson(raw) : raw;
  if (!isObj(parsed)) {
    delete audit.Data;
    return;
  }
  let flat: Obj = parsed;
  const keys = Object.keys(parsed);
  if (keys.length > MAX_LIST_KEYS) {
    flat = {};
    for (const k of keys.slice(0, MAX_LIST_KEYS)) flat[k] = parsed[k];
    st.truncated.push('Data');
  }
  const d: Obj = { flattened: flat };
  for (const k of DATA_KNOWN_KEYS) {
    if (!(k in flat)) continue;
    let v = flat[k];
    if (k === 'sip') {
      if (typeof v !== 'string' || !isIP(v)) continue;
    } else if (DATA_DATE_KEYS.has(k) && v !== null && v !== undefined) {
      v = isoMillis(v);
      if (v === undefined) continue;
    } else if (!scalarish(v)) continue; // a keyword field: only what fits it (the whole value stays in Data.flattened)
    d[k] = v;
  }
  audit.Data = d;
  if (isMailLike(d.f3u)) {
    addUnique(st.relatedUser, d.f3u);
    if (user.email === undefined) user.email = d.f3u;
  }
  if (isMailLike(d.suid)) addUnique(st.relatedUser, d.suid);
  if (str(d.tsd)) email.sender = { address: d.tsd };
  if (isMailLike(d.tsd)) addUnique(st.relatedUser, d.tsd);
  // Elastic writes Data.trc to `email.to_address`, which is not an ECS field: we write email.to.address.
  if (str(d.trc) && email.to === undefined) email.to = { address: [d.trc] };
  if (isMailLike(d.trc)) addUnique(st.relatedUser, d.trc);
  if (email.local_id === undefined && str(d.aii)) email.local_id = d.aii;
  if (email.message_id === undefined && str(d.imsgid)) email.message_id = d.imsgid;
  if (str(d.ms)) email.subject = d.ms;
}
