/**
 * format: ecs — records in the shapes real records have, through the shaper, against expected documents;
 * Elastic's pipeline behaviours one by one; raw unchanged; hostile input never throws.
 */
import { strict as assert } from 'node:assert';
import { toEcsDocument, MAX_LIST_KEYS, recordIdentity } from '../../../src/shape/ecs';
import { parseClientAddress } from '../../../src/shape/ecs/address';
import { createRouter, parseCreationTime, META_KEY } from '../../../src/shape/event';
import { createValidator } from '../../../src/schema/validator';
import * as R from './records';
import { emulatorRecords, sampleRecords } from './corpus';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function ecs(rec: R.Rec): Doc {
  const t = { sec: 0, nsec: 0 };
  assert.ok(parseCreationTime(rec.CreationTime, t));
  return toEcsDocument(rec, t) as Doc;
}

describe('ecs: documents', () => {
  it('41 Safe Links click: the whole document', () => {
    const rec = R.urlClick();
    const doc = ecs(rec);
    assert.deepEqual(doc, {
      '@timestamp': '2025-03-04T07:20:00.000Z',
      ecs: { version: '9.4.0' },
      data_stream: { dataset: 'o365.audit' },
      event: {
        kind: 'alert',
        id: rec.Id,
        provider: 'ThreatIntelligence',
        action: 'TIUrlClickData',
        code: 'ThreatIntelligenceUrl',
        outcome: 'success',
        start: '2025-03-04T07:19:58.000Z',
        category: ['web', 'threat'],
        type: ['info', 'denied'],
        dataset: 'o365.audit',
        module: 'o365',
      },
      organization: { id: '7e1c2b3a-4d5e-4f60-8172-93a4b5c6d7e8' },
      host: { id: '7e1c2b3a-4d5e-4f60-8172-93a4b5c6d7e8', name: 'contoso.com' },
      user: { id: 'robin@contoso.com', email: 'robin@contoso.com', domain: 'contoso.com', name: 'robin' },
      url: {
        original: 'https://login.phish.example:8443/owa/auth?u=robin#x',
        full: 'https://login.phish.example:8443/owa/auth?u=robin#x',
        scheme: 'https',
        domain: 'login.phish.example',
        port: 8443,
        path: '/owa/auth',
        query: 'u=robin',
        fragment: 'x',
      },
      source: { ip: '198.51.100.77' },
      related: { ip: ['198.51.100.77'], user: ['robin'] },
      o365: {
        audit: {
          CreationTime: '2025-03-04T07:20:00',
          RecordType: '41',
          UserKey: 'ThreatIntel',
          UserType: '4',
          Version: '1',
          UserId: 'robin@contoso.com',
          AppName: 'Outlook',
          AppVersion: '16.0.17000.0',
          EventDeepLink: 'https://security.microsoft.com/?hash=/threatexplorer',
          SourceId: 'aaaabbbb-0000-4000-8000-08dd00000001',
          TimeOfClick: '2025-03-04T07:19:58',
          Url: 'https://login.phish.example:8443/owa/auth?u=robin#x',
          UrlClickAction: 2,
          UserIp: '198.51.100.77',
        },
      },
    });
  });

  it('41: an allowed click is an event, a click through the warning an alert', () => {
    assert.equal(ecs(R.urlClick({ UrlClickAction: 1 })).event.kind, 'event');
    const over = ecs(R.urlClick({ UrlClickAction: 4 }));
    assert.equal(over.event.kind, 'alert');
    assert.deepEqual(over.event.type, ['info', 'allowed']);
  });

  it('28 email threat: email.* in full, attachments, policy, threat, sender IP; ThreatIntel kept out of user.*', () => {
    const doc = ecs(R.threatMail());
    assert.equal(doc.user, undefined);
    assert.equal(doc.o365.audit.UserId, 'ThreatIntel');
    assert.deepEqual(doc.email, {
      message_id: '<m1@phish.example>',
      local_id: 'aaaabbbb-0000-4000-8000-08dd00000001',
      sender: { address: 'bounce@phish.example' },
      from: { address: ['ceo@contoso-lookalike.example'] },
      to: { address: ['robin@contoso.com', 'sam@contoso.com'] },
      subject: 'Invoice 2025-03',
      direction: 'inbound',
      delivery_timestamp: '2025-03-04T07:09:30.000Z',
      attachments: [
        { file: { name: 'invoice.pdf.exe', extension: 'exe', mime_type: 'application/vnd.microsoft.portable-executable', hash: { sha256: 'ab'.repeat(32) } } },
        { file: { name: 'notes.txt', extension: 'txt', mime_type: 'text/plain', hash: { sha256: 'cd'.repeat(32) } } },
      ],
    });
    assert.deepEqual(doc.rule, { name: 'SafeAttachments' });
    assert.deepEqual(doc.threat, { software: { name: 'Trojan:Win32/Example', type: 'Malware' } });
    assert.deepEqual(doc.source, { ip: '192.0.2.99' });
    assert.deepEqual(doc.related, { ip: ['192.0.2.99'], user: ['robin@contoso.com', 'sam@contoso.com'], hash: ['ab'.repeat(32), 'cd'.repeat(32)] });
    assert.equal(doc.event.kind, 'alert');
    assert.deepEqual(doc.event.category, ['web', 'email', 'malware', 'threat']);
    assert.deepEqual(doc.event.type, ['info', 'denied']);
    assert.equal(doc.o365.audit.AttachmentData[0].SHA256, 'AB'.repeat(32), 'o365.audit keeps the original');
  });

  it('47 content detection: file.* of the detected file, threat, alert', () => {
    const doc = ecs(R.atpContent());
    assert.deepEqual(doc.file, { name: 'tool.exe', path: 'https://contoso.sharepoint.com/sites/Eng/Shared Documents/tool.exe', size: 48213, hash: { sha256: 'ef'.repeat(32) } });
    assert.deepEqual(doc.threat, { software: { name: 'HackTool:Win32/Example', type: 'Malware' } });
    assert.equal(doc.event.kind, 'alert');
    assert.deepEqual(doc.event.category, ['web', 'malware', 'file', 'threat']);
    assert.deepEqual(doc.related, { hash: ['ef'.repeat(32)] });
    assert.equal(doc.user, undefined);
  });

  it('64 AIR: Data kept as Elastic keeps it (Data.flattened), entities into related.*, url.*, file.*', () => {
    const doc = ecs(R.airInvestigation());
    assert.equal(doc.o365.audit.Data.flattened.ProviderName, 'OATP');
    assert.equal(doc.o365.audit.Actions[0].ActionType, 'EmailRemediation', 'Actions parsed (a flattened field takes objects only)');
    assert.deepEqual(ecs(R.airInvestigation({ Actions: ['not json'] })).o365.audit.Actions, [{ _raw: 'not json' }]);
    const odd = ecs(R.airInvestigation({ Actions: ['not json', 7] }));
    assert.equal(odd.o365.audit.Actions, undefined, 'a number cannot go into a flattened field…');
    assert.deepEqual(odd.o365.unindexed.Actions, [{ _raw: 'not json' }, 7], '…so the list is kept unindexed');
    assert.deepEqual(doc.related, { ip: ['192.0.2.99'], user: ['robin@contoso.com'], hash: ['12'.repeat(32)] });
    assert.equal(doc.url.original, 'https://dl.phish.example/a.zip');
    assert.equal(doc.url.domain, 'dl.phish.example');
    assert.deepEqual(doc.file, { name: 'a.zip', hash: { sha256: '12'.repeat(32) } });
    assert.equal(doc.user, undefined, 'AirInvestigation is a placeholder');
    assert.equal(doc.event.code, 'AirInvestigation');
  });

  it('40 alert: rule.* from the alert, Data known keys, email from Data, event.kind alert (as Elastic)', () => {
    const doc = ecs(R.sccAlert('AlertTriggered', 'Email reported by user as malware or phish'));
    assert.equal(doc.event.kind, 'alert');
    assert.equal(doc.rule.name, 'Email reported by user as malware or phish');
    assert.equal(doc.rule.category, 'ThreatManagement');
    assert.deepEqual(doc.rule.reference, ['https://security.microsoft.com/alerts/x']);
    assert.equal(doc.message, 'New alert');
    assert.equal(doc.o365.audit.Name, undefined, 'renamed away as Elastic does');
    assert.equal(doc.o365.audit.Data.ts, '2025-03-04T12:58:00.000Z');
    assert.equal(doc.email.sender.address, 'evil@phish.example');
    assert.equal(doc.email.subject, 'Your invoice');
    assert.equal(doc.user.email, 'robin@contoso.com');
    assert.deepEqual(doc.related.user, ['robin@contoso.com', 'evil@phish.example']);
    assert.deepEqual(doc.event.category, ['web']);
  });

  it('15 sign-in: authentication category, client/source from ClientIP, user agent from ExtendedProperties', () => {
    const doc = ecs(R.aadLogon());
    assert.deepEqual(doc.event.category, ['web', 'authentication']);
    assert.deepEqual(doc.event.type, ['info', 'start', 'access']);
    assert.deepEqual(doc.client, { address: '198.51.100.23', ip: '198.51.100.23' });
    assert.deepEqual(doc.source, { ip: '198.51.100.23' });
    assert.equal(doc.network.type, 'ipv4');
    assert.equal(doc.user_agent.original, 'Mozilla/5.0 (Windows NT 10.0; Win64; x64)');
    assert.equal(doc.o365.audit.ExtendedProperties.UserAgent, undefined);
    assert.equal(doc.o365.audit.ExtendedProperties.RequestType, 'OAuth2:Token');
    assert.equal(doc.o365.audit.ActorIpAddress, '198.51.100.23', 'only the address that was used leaves o365.audit');
    assert.equal(doc.o365.audit.ClientIP, undefined);
    assert.deepEqual(doc.o365.audit.Target, [{ ID: '00000003-0000-0000-c000-000000000000', Type: '0' }]);
    assert.equal(doc.user.name, 'alex');
  });

  it('1 Exchange admin: Parameters as an object, once more under o365.flattened; server from OriginatingServer', () => {
    const doc = ecs(R.exchangeAdmin('New-InboxRule', { Name: 'r', ForwardTo: 'x@evil.example', User: 'bob' }));
    assert.deepEqual(doc.o365.audit.Parameters, { Name: 'r', ForwardTo: 'x@evil.example', User: 'bob' });
    assert.deepEqual(doc.o365.flattened.Parameters, doc.o365.audit.Parameters);
    assert.deepEqual(doc.client, { address: '203.0.113.7', ip: '203.0.113.7', port: 51234 });
    assert.deepEqual(doc.server, { domain: 'AM0PR01MB1234', address: '15.20.7000.000' }, 'not an IP: no server.ip');
    assert.deepEqual(doc.organization, { id: '7e1c2b3a-4d5e-4f60-8172-93a4b5c6d7e8', name: 'contoso.onmicrosoft.com' });
    assert.equal(doc.host.name, 'contoso.onmicrosoft.com');
    assert.deepEqual(doc.related.user, ['alex', 'bob']);
    assert.equal(doc.event.outcome, 'success');
    assert.equal(ecs(R.exchangeAdmin('Set-Mailbox', {}, { ResultStatus: 'False' })).event.outcome, 'failure');
  });

  it('name/value lists are bounded to MAX_LIST_KEYS keys, and the cut is said in o365.bridge.truncated', () => {
    const params: Record<string, string> = {};
    for (let i = 0; i < MAX_LIST_KEYS + 10; i++) params['P' + i] = 'v';
    const t = { sec: 1, nsec: 0 };
    const doc = toEcsDocument(R.exchangeAdmin('Set-X', params), t, { tenant: 't', content_type: 'Audit.Exchange', content_id: 'c', record_type_name: 'ExchangeAdmin' }) as Doc;
    assert.equal(Object.keys(doc.o365.audit.Parameters).length, MAX_LIST_KEYS);
    assert.deepEqual(doc.o365.bridge.truncated, ['Parameters']);
    assert.equal(doc.o365.bridge.tenant, 't');
  });

  it('ModifiedProperties: names with dots and spaces become keys with _ (Elastic), empty lists removed', () => {
    const doc = ecs(R.aadDirectory('Update user.', { ModifiedProperties: [{ Name: 'Role.Display Name', NewValue: 'a', OldValue: 'b' }] }));
    assert.deepEqual(doc.o365.audit.ModifiedProperties, { Role_Display_Name: { NewValue: 'a', OldValue: 'b' } });
    assert.equal(doc.event.action, 'modified-user-account');
    assert.equal(doc.o365.audit.Operation, 'Update user.', 'the original kept (Elastic loses it)');
    assert.deepEqual(doc.event.type, ['info', 'user', 'change']);
    assert.equal(ecs(R.aadDirectory('Update group.')).o365.audit.ModifiedProperties, undefined);
  });

  it('DLP (11): rule.id/name from PolicyDetails, severity, outcome failure when access was blocked, file.* from SharePointMetaData', () => {
    const rec = {
      ...R.sharePoint('DlpRuleMatch', 'SharePoint'),
      RecordType: 11,
      SharePointMetaData: { From: 'sam@contoso.com', FileName: 'pay.xlsx', FilePathUrl: 'https://contoso.sharepoint.com/pay.xlsx', FileOwner: 'sam', UniqueID: 'u1', LastModifiedTime: '2025-03-01T10:00:00' },
      PolicyDetails: [{ PolicyId: 'p1', PolicyName: 'PII', Rules: [{ RuleId: 'r1', RuleName: 'Card numbers', Severity: 'High', Actions: ['NotifyUser', 'BlockAccess'] }] }],
    };
    const doc = ecs(rec);
    assert.equal(doc.event.kind, 'alert');
    assert.deepEqual(doc.event.category, ['web', 'file']);
    assert.deepEqual(doc.rule, { id: ['r1'], name: ['Card numbers'] });
    assert.equal(doc.event.severity, 4);
    assert.equal(doc.event.outcome, 'failure');
    assert.equal(doc.file.name, 'pay.xlsx');
    assert.equal(doc.file.owner, 'sam');
    assert.equal(doc.file.inode, 'u1');
    assert.equal(doc.file.mtime, '2025-03-01T10:00:00.000Z');
    assert.equal(doc.url.original, 'https://contoso.sharepoint.com/pay.xlsx');
    assert.ok(doc.related.user.includes('sam'));
    assert.equal(rec.SharePointMetaData.FileName, 'pay.xlsx', 'the record is not modified');
  });

  it('Teams (25): MemberAdded renamed as Elastic does, members into related.user, TeamName into group.name', () => {
    const doc = ecs(R.teams('MemberAdded', { TeamName: 'Eng', Members: [{ UPN: 'robin@contoso.com', Role: 1 }] }));
    assert.equal(doc.event.action, 'added-users-to-group');
    assert.deepEqual(doc.event.category, ['web', 'iam']);
    assert.deepEqual(doc.event.type, ['info', 'group', 'change']);
    assert.deepEqual(doc.group, { name: 'Eng' });
    assert.deepEqual(doc.related.user, ['robin@contoso.com', 'alex']);
  });

  it('Elastic record-type names where they differ from the documented ones (22 Yammer, 44 WorkplaceAnalytics)', () => {
    assert.equal(ecs({ ...R.teams('FileVisited'), RecordType: 22, Workload: 'Yammer' }).event.code, 'Yammer');
    assert.equal(ecs({ ...R.teams('X'), RecordType: 44 }).event.code, 'WorkplaceAnalytics');
  });

  it('client addresses as Elastic parses them', () => {
    assert.deepEqual(parseClientAddress('[2001:db8::1]:443'), { address: '2001:db8::1', port: 443, ip: '2001:db8::1' });
    assert.deepEqual(parseClientAddress('::ffff:192.0.2.1'), { address: '192.0.2.1', ip: '192.0.2.1' });
    assert.deepEqual(parseClientAddress('host.example (192.0.2.9)'), { domain: 'host.example', address: '192.0.2.9', ip: '192.0.2.9' });
    assert.deepEqual(parseClientAddress('host.example:8080'), { domain: 'host.example:8080' });
    assert.equal(parseClientAddress(''), undefined);
    assert.equal(parseClientAddress(42), undefined);
  });

  it('never modifies the record it reads', () => {
    for (const rec of [R.threatMail(), R.airInvestigation(), R.aadLogon(), R.aadLogon({ ExtendedProperties: { UserAgent: 'ua', RequestType: 'x' } }), R.sccAlert('A', 'B'), R.exchangeAdmin('X', { A: 'b' }), { ...R.sharePoint('DlpRuleMatch', 'SharePoint'), RecordType: 11, SharePointMetaData: { From: 'a@b.c', FileName: 'f' }, PolicyDetails: [{ Rules: [{ RuleId: 'r', RuleName: 'n', Severity: 'High', Actions: ['BlockAccess'] }] }] }]) {
      const before = JSON.stringify(rec);
      ecs(rec);
      assert.equal(JSON.stringify(rec), before);
    }
  });

  it('never throws on hostile values (every top-level field replaced by odd values)', function () {
    this.timeout(60_000); // the suite's own default; about 20k documents on a shared machine
    const odd: unknown[] = [null, 0, -1, 1e308, '', 'x', true, [], {}, [null], [{}], { Name: 1 }, '::', '[', 'a@b@c', '{"broken'];
    for (const base of [...emulatorRecords(1), ...sampleRecords()].slice(0, 60)) {
      for (const k of Object.keys(base)) {
        for (const v of odd) toEcsDocument({ ...base, [k]: v }, { sec: 1, nsec: 0 });
      }
    }
  });
});

describe('ecs: the record behind an event, in either format', () => {
  it('raw: Id and RecordType; ecs: event.id and o365.audit.RecordType', () => {
    const rec = R.threatMail();
    assert.deepEqual(recordIdentity(rec), { id: rec.Id, recordType: 28 });
    assert.deepEqual(recordIdentity(ecs(rec)), { id: rec.Id, recordType: 28 });
    assert.deepEqual(recordIdentity({ ...rec, Id: '' }), { id: undefined, recordType: 28 });
    assert.deepEqual(recordIdentity({ event: { id: 5 }, o365: { audit: { RecordType: 'x' } } }), { id: undefined, recordType: null });
  });
});

describe('ecs: the router switch', () => {
  const validator = createValidator({ mode: 'default' });
  const ctx = { tenantId: 'tenant-1', contentType: 'Audit.General', contentId: 'blob-1' };

  it('raw (the default) is exactly as before: the record itself plus o365_bridge', () => {
    const rec = R.threatMail();
    const copy = JSON.parse(JSON.stringify(rec));
    const ev = createRouter({ tagPrefix: 'o365' }).route(rec, validator.validate(rec), ctx);
    assert.equal(ev.record, rec, 'the same object, not a copy');
    const { [META_KEY]: meta, ...rest } = ev.record as Doc;
    assert.deepEqual(rest, copy);
    assert.equal(meta.tenant, 'tenant-1');
    assert.equal(ev.tag, 'o365.audit.general.threat_intelligence');
  });

  it('ecs: an ECS document with the bridge metadata under o365.bridge, same tag and time, record untouched', () => {
    const rec = R.threatMail();
    const before = JSON.stringify(rec);
    const ev = createRouter({ tagPrefix: 'o365', format: 'ecs' }).route(rec, validator.validate(rec), ctx);
    assert.equal(JSON.stringify(rec), before);
    const doc = ev.record as Doc;
    assert.equal(doc.event.code, 'ThreatIntelligence');
    assert.deepEqual(doc.o365.bridge, { tenant: 'tenant-1', content_type: 'Audit.General', content_id: 'blob-1', record_type_name: 'ThreatIntelligence' });
    assert.equal(ev.tag, 'o365.audit.general.threat_intelligence');
    assert.equal(doc['@timestamp'], '2025-03-04T07:10:00.000Z');
    assert.equal(ev.time.sec, Date.UTC(2025, 2, 4, 7, 10, 0) / 1000);
  });

  it('ecs: an invalid record is still a document, with its errors in o365.bridge.errors', () => {
    const rec = { ...R.threatMail(), RecordType: 'Unknown' };
    const ev = createRouter({ tagPrefix: 'o365', format: 'ecs' }).route(rec, validator.validate(rec), ctx);
    assert.ok(ev.tag.startsWith('o365.invalid.'));
    assert.ok(((ev.record as Doc).o365.bridge.errors as unknown[]).length > 0);
    assert.equal((ev.record as Doc).event.code, undefined);
  });
});
