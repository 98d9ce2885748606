/**
 * The shared real records (../shared/samples, read when present, never copied) through format: ecs:
 * for each one, the document follows from the record by the rules in docs/ecs.md — the common fields,
 * nothing of the record lost (each field is in o365.audit or where Elastic moves it), and the Defender
 * specifics of 28, 41, 47 and 64.
 */
import { strict as assert } from 'node:assert';
import { toEcsDocument, PLACEHOLDER_USERS } from '../../../src/shape/ecs';
import { parseCreationTime } from '../../../src/shape/event';
import { recordTypeName } from '../../../src/schema/record-types';
import { SAMPLES, sampleRecords } from './corpus';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Where Elastic's pipeline moves a top-level field (for any record type), so it is not in o365.audit. */
const MOVED: Record<string, (d: Doc) => unknown> = {
  Id: (d) => d.event.id,
  Workload: (d) => d.event.provider,
  OrganizationId: (d) => d.organization?.id,
  UserAgent: (d) => d.user_agent?.original,
};

describe('ecs: the shared real sample records', function () {
  const records = sampleRecords();
  before(function () {
    if (records.length === 0) {
      process.stdout.write(`      skipped: ${SAMPLES} not found (the samples live in ../shared, outside a fresh clone)\n`);
      this.skip();
    }
  });

  it('common fields: @timestamp, event.id/provider/code, dataset, organization', () => {
    for (const r of records) {
      const t = { sec: 0, nsec: 0 };
      assert.ok(parseCreationTime(r.CreationTime, t), String(r.Id));
      const d = toEcsDocument(r, t) as Doc;
      assert.equal(Date.parse(d['@timestamp']), Date.parse(String(r.CreationTime).replace(/Z?$/, 'Z')), String(r.Id));
      assert.equal(d.event.id, r.Id);
      assert.equal(d.event.provider, r.Workload);
      assert.equal(d.data_stream.dataset, 'o365.audit');
      assert.equal(d.organization.id, String(r.OrganizationId).toLowerCase());
      // The record type's name when the table lists it (Elastic's spelling where it differs).
      if (recordTypeName(Number(r.RecordType)) !== undefined) assert.equal(typeof d.event.code, 'string', `RecordType ${String(r.RecordType)}`);
      else assert.equal(d.event.code, undefined);
      assert.ok(['success', 'failure'].includes(d.event.outcome));
      assert.ok(d.event.category.includes('web') && d.event.type.includes('info'), 'Elastic’s web/info kept');
    }
  });

  it('nothing of the record is lost: each field is in o365.audit or where Elastic moves it', () => {
    for (const r of records) {
      const d = toEcsDocument(r, { sec: 1, nsec: 0 }) as Doc;
      for (const k of Object.keys(r)) {
        if (r[k] === null || r[k] === undefined || k in d.o365.audit) continue;
        if (MOVED[k]) {
          assert.deepEqual(MOVED[k](d), k === 'OrganizationId' ? String(r[k]).toLowerCase() : r[k], `${String(r.Id)} ${k}`);
          continue;
        }
        // The rest Elastic moves only for some record types; its value must appear somewhere in the document.
        const json = JSON.stringify(d);
        const v = r[k];
        if (k === 'ModifiedProperties' && Array.isArray(v) && v.length === 0) continue; // Elastic drops an empty list
        if (k === 'AlertLinks' && Array.isArray(v) && v.length === 0) continue;
        if (k === 'ClientIP' || k === 'ClientIPAddress' || k === 'ActorIpAddress') {
          assert.ok(r[k] === '' || d.client?.address || d.client?.domain, `${String(r.Id)}: ${k} parsed into client.*`); // Elastic drops an empty one
          continue;
        }
        if (k === 'OriginatingServer') {
          assert.ok(d.server?.domain || d.server?.address, `${String(r.Id)}: OriginatingServer parsed into server.*`);
          continue;
        }
        assert.ok(typeof v === 'object' || json.includes(JSON.stringify(v).slice(1, -1)), `${String(r.Id)}: ${k} lost`);
      }
    }
  });

  it('28, 41, 47, 64: the deeper Defender fields follow from the record', () => {
    let seen = 0;
    for (const r of records) {
      const d = toEcsDocument(r, { sec: 1, nsec: 0 }) as Doc;
      const placeholder = typeof r.UserId === 'string' && PLACEHOLDER_USERS.has(r.UserId);
      if (placeholder) {
        assert.equal(d.user?.id, undefined, `${String(r.Id)}: ${String(r.UserId)} in user.id`);
        assert.ok(!(d.related?.user ?? []).includes(r.UserId));
      }
      switch (r.RecordType) {
        case 28: {
          seen++;
          const att = r.AttachmentData as Array<Record<string, string>>;
          assert.equal(d.email.local_id, r.NetworkMessageId);
          assert.equal(d.email.message_id, r.InternetMessageId);
          assert.deepEqual(d.email.to.address, r.Recipients);
          assert.equal(d.email.attachments.length, att.length);
          assert.deepEqual(d.email.attachments.map((a: Doc) => a.file.hash.sha256), att.map((a) => a.SHA256.toLowerCase()));
          assert.equal(d.rule.name, r.Policy);
          assert.equal(d.event.kind, 'alert');
          break;
        }
        case 41:
          seen++;
          assert.equal(d.url.original, r.Url);
          assert.equal(d.source.ip, r.UserIp);
          break;
        case 47: {
          seen++;
          const fd = r.FileData as Record<string, string>;
          assert.equal(d.file.name, fd.FileName);
          assert.equal(d.file.hash.sha256, fd.SHA256.toLowerCase());
          assert.equal(d.file.size, Number(fd.FileSize));
          assert.equal(d.threat.software.name, fd.MalwareFamily);
          assert.equal(d.event.kind, 'alert');
          break;
        }
        case 64:
          seen++;
          assert.ok(typeof d.o365.audit.Data === 'undefined' || typeof d.o365.audit.Data.flattened === 'object');
          for (const u of d.related?.user ?? []) assert.ok(!PLACEHOLDER_USERS.has(u));
          break;
        default:
          break;
      }
    }
    assert.ok(seen >= 4, `Defender samples seen: ${seen}`);
  });
});
