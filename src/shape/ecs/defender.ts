/**
 * Deeper than Elastic for the Defender for Office 365 record types (docs/ecs.md has the table):
 * 28 ThreatIntelligence (email.* in full, attachments with name/type/hash, direction, delivery time,
 *    the policy as rule.name, malware families as threat.software.name, source.ip = sending server),
 * 41 ThreatIntelligenceUrl (url.*, source.ip = the clicking user's address),
 * 47 ThreatIntelligenceAtpContent (file.* of the detected file, threat.software.name),
 * 64 AirInvestigation (entities: mailboxes, IPs, URLs, files into related.*, url.*, file.*).
 * Detections get `event.kind: alert`. Everything Elastic writes is kept (the `web` category included),
 * so a rule that matches Elastic's document still matches ours.
 */
import { isIP } from 'node:net';
import type { ShapeState } from './elastic';
import { addUnique, isObj, isoMillis, str, sub, type Obj } from './util';

/** Common MIME types by the extension Defender reports in AttachmentData.FileType (first entry of `exe;zip`). */
const MIME: Readonly<Record<string, string>> = {
  pdf: 'application/pdf', zip: 'application/zip', exe: 'application/vnd.microsoft.portable-executable',
  dll: 'application/vnd.microsoft.portable-executable', doc: 'application/msword', docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  docm: 'application/vnd.ms-word.document.macroEnabled.12', xls: 'application/vnd.ms-excel', xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  xlsm: 'application/vnd.ms-excel.sheet.macroEnabled.12', ppt: 'application/vnd.ms-powerpoint', pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  html: 'text/html', htm: 'text/html', js: 'text/javascript', txt: 'text/plain', eml: 'message/rfc822', rtf: 'application/rtf',
  iso: 'application/x-iso9660-image', rar: 'application/vnd.rar', '7z': 'application/x-7z-compressed', one: 'application/onenote',
  svg: 'image/svg+xml', png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', lnk: 'application/x-ms-shortcut',
};
const DIRECTION: Readonly<Record<string, string>> = { inbound: 'inbound', outbound: 'outbound', intraorg: 'internal', unknown: 'unknown' };
/** Safe Links click actions that mean the click was stopped (the others let it through). */
const CLICK_BLOCKED = new Set(['blockpage', 'pendingdetonationpage', '2', '3']);
/** …and the ones where the user clicked through the warning page (numbers as documented: 4, 5). */
const CLICK_OVERRIDE = new Set(['blockpageoverride', 'pendingdetonationpageoverride', '4', '5']);
/** Bounds for walking AIR entity trees (input is untrusted). */
const MAX_ENTITIES = 1000;
const MAX_DEPTH = 8;

function addCategory(st: ShapeState, ...c: string[]): void {
  for (const x of c) addUnique(st.category, x);
}

function setUrl(doc: Obj, u: string): void {
  const url: Obj = { original: u, full: u };
  try {
    const p = new URL(u);
    url.scheme = p.protocol.replace(/:$/, '');
    if (p.hostname) url.domain = p.hostname.replace(/^\[|\]$/g, '');
    if (p.port) url.port = Number(p.port);
    if (p.pathname) url.path = p.pathname;
    if (p.search.length > 1) url.query = p.search.slice(1);
    if (p.hash.length > 1) url.fragment = p.hash.slice(1);
  } catch {
    delete url.full; // not an absolute URL: keep what was clicked as original only
  }
  doc.url = url;
}

function emailRecord(st: ShapeState): void {
  const { audit, doc, event } = st;
  const email = sub(doc, 'email');
  if (str(audit.P2Sender)) email.from = { address: [audit.P2Sender] };
  const dir = typeof audit.Directionality === 'string' ? DIRECTION[audit.Directionality.toLowerCase()] : undefined;
  if (dir) email.direction = dir;
  const t = isoMillis(audit.MessageTime);
  if (t) email.delivery_timestamp = t;
  const attachments: Obj[] = [];
  const families: string[] = [];
  if (Array.isArray(audit.AttachmentData)) {
    for (const a of audit.AttachmentData) {
      if (!isObj(a)) continue;
      const f: Obj = {};
      if (str(a.FileName)) f.name = a.FileName;
      const ext = typeof a.FileType === 'string' ? a.FileType.split(';')[0].trim().toLowerCase() : '';
      if (ext) {
        f.extension = ext;
        if (MIME[ext]) f.mime_type = MIME[ext];
      }
      if (str(a.SHA256)) {
        f.hash = { sha256: (a.SHA256 as string).toLowerCase() };
        addUnique(st.relatedHash, (a.SHA256 as string).toLowerCase());
      }
      if (str(a.MalwareFamily)) addUnique(families, a.MalwareFamily as string);
      if (Object.keys(f).length > 0) attachments.push({ file: f });
    }
  }
  if (attachments.length > 0) email.attachments = attachments;
  if (str(audit.Policy)) sub(doc, 'rule').name = audit.Policy;
  if (families.length > 0) doc.threat = { software: { name: families.length === 1 ? families[0] : families, type: 'Malware' } };
  if (Array.isArray(audit.Recipients)) for (const r of audit.Recipients) if (typeof r === 'string' && r.length > 0) addUnique(st.relatedUser, r);
  if (typeof audit.SenderIp === 'string' && isIP(audit.SenderIp) && !isObj(doc.source)) doc.source = { ip: audit.SenderIp };
  addCategory(st, 'email');
  const verdict = typeof audit.Verdict === 'string' ? audit.Verdict.toLowerCase() : '';
  if (verdict.includes('malware') || families.length > 0) addCategory(st, 'malware');
  if (verdict !== '' && verdict !== 'none' && verdict !== 'clean' && verdict !== 'notspam') {
    event.kind = 'alert';
    addCategory(st, 'threat');
  }
  const delivery = typeof audit.DeliveryAction === 'string' ? audit.DeliveryAction.toLowerCase() : '';
  if (delivery === 'blocked' || delivery === 'replaced') addUnique(st.type, 'denied');
  else if (delivery === 'delivered' || delivery === 'deliveredasspam') addUnique(st.type, 'allowed');
}

function urlClick(st: ShapeState): void {
  const { audit, doc, event } = st;
  const u = str(audit.Url) ?? str(audit.URL);
  if (u) setUrl(doc, u);
  if (typeof audit.UserIp === 'string' && isIP(audit.UserIp)) {
    sub(doc, 'source').ip = audit.UserIp;
    addUnique(st.relatedIp, audit.UserIp);
  }
  const action = audit.UrlClickAction ?? audit.URLClickAction;
  const a = typeof action === 'string' ? action.toLowerCase() : typeof action === 'number' ? String(action) : '';
  addCategory(st, 'threat');
  if (CLICK_BLOCKED.has(a)) {
    event.kind = 'alert';
    addUnique(st.type, 'denied');
  } else if (CLICK_OVERRIDE.has(a)) {
    event.kind = 'alert';
    addUnique(st.type, 'allowed');
  } else if (a === 'allowed' || a === '1') {
    addUnique(st.type, 'allowed');
  }
  const t = isoMillis(audit.TimeOfClick);
  if (t) event.start = t;
}

function contentDetection(st: ShapeState): void {
  const { audit, doc, event } = st;
  const fd = isObj(audit.FileData) ? audit.FileData : undefined;
  event.kind = 'alert';
  addCategory(st, 'malware', 'file', 'threat');
  if (!fd) return;
  const file = sub(doc, 'file');
  if (str(fd.FileName)) file.name = fd.FileName;
  if (str(fd.FilePath)) file.path = fd.FilePath;
  const size = typeof fd.FileSize === 'number' ? fd.FileSize : typeof fd.FileSize === 'string' && /^[0-9]{1,15}$/.test(fd.FileSize) ? Number(fd.FileSize) : undefined;
  if (size !== undefined) file.size = size;
  if (str(fd.SHA256)) {
    file.hash = { sha256: (fd.SHA256 as string).toLowerCase() };
    addUnique(st.relatedHash, (fd.SHA256 as string).toLowerCase());
  }
  if (str(fd.MalwareFamily)) doc.threat = { software: { name: fd.MalwareFamily, type: 'Malware' } };
}

/** AIR: walks Data and the Actions' entities (bounded) for mailboxes, IPs, URLs and files. */
function airInvestigation(st: ShapeState, rec: Obj): void {
  const { doc, audit } = st;
  const roots: unknown[] = [];
  const d = audit.Data;
  if (isObj(d) && isObj(d.flattened)) roots.push(d.flattened);
  if (Array.isArray(rec.Actions)) {
    // The API sends each action as a JSON string: parsed here, so o365.audit.Actions (flattened, which
    // takes objects only) is searchable by its keys; one that is not JSON is kept as {_raw}.
    const actions: unknown[] = [];
    for (const a of rec.Actions) {
      let v: unknown = a;
      if (typeof a === 'string') {
        try {
          v = JSON.parse(a);
        } catch {
          v = undefined;
        }
        if (!isObj(v)) v = { _raw: a };
      }
      actions.push(v);
      roots.push(v);
    }
    audit.Actions = actions;
  }
  let seen = 0;
  let firstUrl: string | undefined;
  let firstFile: Obj | undefined;
  const visit = (v: unknown, depth: number): void => {
    if (seen >= MAX_ENTITIES || depth > MAX_DEPTH) return;
    if (Array.isArray(v)) {
      for (const x of v) visit(x, depth + 1);
      return;
    }
    if (!isObj(v)) return;
    seen++;
    const type = typeof v.Type === 'string' ? v.Type.toLowerCase() : '';
    if (type === 'mailbox' || type === 'account' || type === 'user') {
      for (const k of ['MailboxPrimaryAddress', 'Upn', 'UserPrincipalName']) if (typeof v[k] === 'string' && v[k]) addUnique(st.relatedUser, v[k] as string);
    } else if (type === 'ip' && typeof v.Address === 'string' && isIP(v.Address)) {
      addUnique(st.relatedIp, v.Address);
    } else if (type === 'url' && typeof v.Url === 'string' && v.Url) {
      firstUrl ??= v.Url;
    } else if (type === 'file') {
      firstFile ??= v;
      if (Array.isArray(v.FileHashes)) {
        for (const h of v.FileHashes) if (isObj(h) && typeof h.Value === 'string' && h.Value) addUnique(st.relatedHash, h.Value.toLowerCase());
      }
    } else if (type === 'filehash' && typeof v.Value === 'string' && v.Value) {
      addUnique(st.relatedHash, v.Value.toLowerCase());
    }
    for (const k in v) {
      const c = v[k];
      if (typeof c === 'object' && c !== null) visit(c, depth + 1);
    }
  };
  for (const r of roots) visit(r, 0);
  if (firstUrl) setUrl(doc, firstUrl);
  if (firstFile) {
    const file = sub(doc, 'file');
    if (str(firstFile.Name)) file.name = firstFile.Name;
    if (Array.isArray(firstFile.FileHashes)) {
      const sha = firstFile.FileHashes.find((h) => isObj(h) && typeof h.Algorithm === 'string' && h.Algorithm.toUpperCase() === 'SHA256' && typeof h.Value === 'string');
      if (isObj(sha)) file.hash = { sha256: (sha.Value as string).toLowerCase() };
    }
    if (str(firstFile.MalwareFamily)) doc.threat = { software: { name: firstFile.MalwareFamily, type: 'Malware' } };
  }
  addCategory(st, 'threat');
}

export function deepenDefender(st: ShapeState, recordType: number | null, rec: Obj): void {
  switch (recordType) {
    case 28:
      emailRecord(st);
      break;
    case 41:
      urlClick(st);
      break;
    case 47:
      contentDetection(st);
      break;
    case 64:
      airInvestigation(st, rec);
      break;
    default:
      break;
  }
}
