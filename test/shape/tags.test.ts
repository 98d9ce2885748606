import { strict as assert } from 'node:assert';
import { TagTable, allTags, snakeCase, contentTypeTagPart, recordTypeTagParts } from '../../src/shape/tags';
import { CONTENT_TYPES } from '../../src/contracts';

describe('tags', () => {
  const t = new TagTable('o365');

  it('spot checks: Defender types, Exchange, Entra, DLP', () => {
    assert.equal(t.tag('Audit.General', 28), 'o365.audit.general.threat_intelligence');
    assert.equal(t.tag('Audit.General', 41), 'o365.audit.general.threat_intelligence_url');
    assert.equal(t.tag('Audit.General', 47), 'o365.audit.general.threat_intelligence_atp_content');
    assert.equal(t.tag('Audit.General', 64), 'o365.audit.general.air_investigation');
    assert.equal(t.tag('Audit.Exchange', 2), 'o365.audit.exchange.exchange_item');
    assert.equal(t.tag('Audit.AzureActiveDirectory', 15), 'o365.audit.azure_active_directory.azure_active_directory_sts_logon');
    assert.equal(t.tag('DLP.All', 13), 'o365.dlp.all.compliance_dlp_exchange');
    assert.equal(t.tag('Audit.SharePoint', 6), 'o365.audit.sharepoint.sharepoint_file_operation');
  });

  it('unlisted record types keep their number; missing or non-integer ones are unknown', () => {
    assert.equal(t.tag('Audit.General', 9999), 'o365.audit.general.9999');
    assert.equal(t.tag('Audit.General', 5000000), 'o365.audit.general.5000000');
    assert.equal(t.tag('Audit.General', 999), 'o365.audit.general.999');
    assert.equal(t.tag('Audit.General', null), 'o365.audit.general.unknown');
    assert.equal(t.tag('Audit.General', 2.5), 'o365.audit.general.unknown');
  });

  it('invalid records go under <prefix>.invalid', () => {
    assert.equal(t.tag('Audit.General', 28, true), 'o365.invalid.audit.general.threat_intelligence');
    assert.equal(t.tag('Audit.General', null, true), 'o365.invalid.audit.general.unknown');
    assert.equal(t.tag('Audit.General', 9999, true), 'o365.invalid.audit.general.9999');
  });

  it('tags are cached strings (same instance on every call)', () => {
    const a = t.tag('Audit.General', 28);
    assert.ok(Object.is(a, t.tag('Audit.General', 28)));
    assert.equal(t.forContentType('Audit.General'), t.forContentType('Audit.General'));
  });

  it('acronyms, brands and doc spellings', () => {
    const cases: Array<[string, string]> = [
      ['ThreatIntelligence', 'threat_intelligence'],
      ['AzureActiveDirectoryStsLogon', 'azure_active_directory_sts_logon'],
      ['ComplianceDLPSharePoint', 'compliance_dlp_sharepoint'],
      ['DLPEndpoint', 'dlp_endpoint'],
      ['MIPLabel', 'mip_label'],
      ['MipAutoLabelSharePointItem', 'mip_auto_label_sharepoint_item'],
      ['AirInvestigation', 'air_investigation'],
      ['AIAppInteraction', 'ai_app_interaction'],
      ['PowerBIAudit', 'power_bi_audit'],
      ['OneDrive', 'onedrive'],
      ['SkypeForBusinessPSTNUsage', 'skype_for_business_pstn_usage'],
      ['Microsoft365CopilotScheduledPrompt', 'microsoft365_copilot_scheduled_prompt'],
      ['MS365DCustomDetection', 'ms365d_custom_detection'],
      ['P4AIAssessmentFabricScannerRecord', 'p4ai_assessment_fabric_scanner_record'],
      ['Viva Engage', 'viva_engage'],
      ['AeD', 'aed'],
      ['ProjectForThewebTask', 'project_for_the_web_task'],
      ['DefenderExpertsforXDRAdmin', 'defender_experts_for_xdr_admin'],
      ['CRM', 'crm'],
    ];
    for (const [name, want] of cases) assert.equal(snakeCase(name), want, name);
    assert.equal(contentTypeTagPart('Audit.AzureActiveDirectory'), 'audit.azure_active_directory');
    assert.equal(contentTypeTagPart('DLP.All'), 'dlp.all');
  });

  it('every documented record type gets a distinct, well-formed tag part', () => {
    const parts = recordTypeTagParts();
    assert.ok(parts.length >= 250);
    const seen = new Map<string, number>();
    for (const p of parts) {
      assert.match(p.tagPart, /^[a-z0-9]+(_[a-z0-9]+)*$/, `${p.recordType} ${p.name} → ${p.tagPart}`);
      assert.ok(!seen.has(p.tagPart), `${p.tagPart} used by ${seen.get(p.tagPart)} and ${p.recordType}`);
      seen.set(p.tagPart, p.recordType);
    }
  });

  it('allTags lists every routable tag, and the router produces only listed ones for documented types', () => {
    const tags = allTags('o365');
    const set = new Set(tags.map((x) => x.tag));
    assert.equal(set.size, tags.length, 'no duplicates');
    const perContentType = recordTypeTagParts().length + 1;
    assert.equal(tags.length, CONTENT_TYPES.length * perContentType * 2);
    for (const ct of CONTENT_TYPES) {
      for (const rt of [28, 41, 47, 64, 2, 15, null]) {
        assert.ok(set.has(t.tag(ct, rt)), `${ct} ${rt}`);
        assert.ok(set.has(t.tag(ct, rt, true)), `${ct} ${rt} invalid`);
      }
    }
    const tt = tags.find((x) => x.tag === 'o365.audit.general.threat_intelligence');
    assert.deepEqual(tt, { tag: 'o365.audit.general.threat_intelligence', contentType: 'Audit.General', recordType: 28, recordTypeName: 'ThreatIntelligence', invalid: false });
  });

  it('honours the prefix', () => {
    assert.equal(new TagTable('corp.m365').tag('Audit.General', 28), 'corp.m365.audit.general.threat_intelligence');
  });
});
