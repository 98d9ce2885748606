/** DLP.All: SharePoint/OneDrive (11), Exchange (13) and SharePoint classification (33) DLP events. */
import { weightedTable, type WeightedTable } from '../rand';
import { recordTime } from '../time';
import { EXTERNAL_DOMAINS, FILE_NAMES, SUBJECTS, fill } from './vocab';
import { before, head, person, type AuditRecord, type RecordBuilder, type RecordContext } from './common';

const SIT = [
  ['50842eb7-edc8-4019-85dd-5a5c1f2bb085', 'Credit Card Number'],
  ['a44669fe-0d48-453d-a9b1-2cc83f2cba77', 'U.S. Social Security Number (SSN)'],
  ['e7dc4711-11b7-4cb0-b88b-2c394a771f0e', 'International Banking Account Number (IBAN)'],
  ['178ec42a-18b4-47cc-85c7-d62c92fd67f8', 'EU Passport Number'],
] as const;

function policyDetails(c: RecordContext, exchange: boolean): AuditRecord[] {
  const rng = c.rng;
  const [sitId, sitName] = rng.pick(SIT);
  const count = rng.range(1, 12);
  const block = rng.chance(0.3);
  return [
    {
      PolicyId: rng.guid(),
      PolicyName: rng.pick(['PCI DSS', 'U.S. PII', 'GDPR Enhanced', 'Financial data']),
      Rules: [
        {
          ActionParameters: block ? ['BlockAccess:true', 'NotifyUser:true'] : ['GenerateAlert:true'],
          Actions: block ? ['BlockAccess', 'NotifyUser', 'GenerateIncidentReport'] : ['GenerateAlert'],
          ConditionsMatched: {
            ConditionMatchedInNewScheme: true,
            SensitiveInformation: [
              {
                ClassifierType: 'Content',
                Confidence: rng.pick([65, 75, 85]),
                Count: count,
                Location: exchange ? 'Message body' : 'Document',
                SensitiveInformationDetailedClassificationAttributes: [
                  { Confidence: 65, Count: count, IsMatch: false },
                  { Confidence: 85, Count: count, IsMatch: true },
                ],
                SensitiveInformationDetections: {
                  DetectedValues: [{ Name: sitName, Value: '•••• ' + rng.range(1000, 9999) }],
                  ResultsTruncated: false,
                },
                SensitiveInformationTypeName: sitName,
                SensitiveType: sitId,
                UniqueCount: Math.max(1, count - 1),
              },
            ],
          },
          ManagementRuleId: rng.guid(),
          RuleId: rng.guid(),
          RuleMode: 'Enable',
          RuleName: block ? 'High volume content detected' : 'Low volume content detected',
          Severity: block ? 'High' : 'Low',
        },
      ],
    },
  ];
}

function sharePointMeta(c: RecordContext, oneDrive: boolean): AuditRecord {
  const rng = c.rng;
  const owner = person(c);
  const name = fill(rng.pick(FILE_NAMES), rng.range(100, 9999), rng.range(1, 4));
  const site = oneDrive
    ? `https://${c.t.spoName}-my.sharepoint.com/personal/${owner.upn.replace(/[.@]/g, '_')}`
    : `https://${c.t.spoName}.sharepoint.com/sites/${rng.pick(['finance', 'hr', 'sales'])}`;
  const modified = recordTime(before(c, 30));
  return {
    FileID: 'SPO_' + rng.hex(40),
    FileName: name,
    FileOwner: owner.displayName,
    FilePathUrl: `${site}/Shared%20Documents/${encodeURIComponent(name)}`,
    FileSize: rng.range(2_000, 5_000_000),
    From: owner.upn,
    IsViewableByExternalUsers: rng.chance(0.2),
    IsVisibleOnlyToOdbOwner: oneDrive && rng.chance(0.5),
    ItemCreationTime: modified,
    ItemLastModifiedTime: modified,
    ItemLastSharedTime: '0001-01-02T00:00:00',
    SensitivityLabelIds: [],
    SharedBy: [null],
    SiteAdmin: [],
    SiteCollectionGuid: rng.pick(c.t.siteIds),
    SiteCollectionUrl: site,
    UniqueID: rng.guid(),
  };
}

function dlpSharePoint(c: RecordContext): AuditRecord {
  const oneDrive = c.rng.chance(0.35);
  const u = person(c);
  const undo = c.rng.chance(0.05);
  const r = head(c, undo ? 'DLPRuleUndo' : 'DLPRuleMatch', 11, undefined, 'DlpPolicyEventBasedAssistantSharePoint', 4, oneDrive ? 'OneDrive' : 'SharePoint');
  const meta = sharePointMeta(c, oneDrive);
  r.ObjectId = meta.UniqueID;
  r.UserId = u.upn.toUpperCase();
  r.IncidentId = c.rng.guid();
  r.PolicyDetails = policyDetails(c, false);
  r.SensitiveInfoDetectionIsIncluded = true;
  r.SharePointMetaData = meta;
  return r;
}

function dlpExchange(c: RecordContext): AuditRecord {
  const rng = c.rng;
  const u = person(c);
  const r = head(c, 'DlpRuleMatch', 13, undefined, u.upn, 0, 'Exchange');
  const messageId = `<${rng.hex(32, true)}@${c.t.domain.split('.')[0]}.prod.outlook.com>`;
  r.ObjectId = messageId;
  r.UserId = u.upn;
  r.IncidentId = rng.guid();
  r.PolicyDetails = policyDetails(c, true);
  r.SensitiveInfoDetectionIsIncluded = true;
  r.ExchangeMetaData = {
    BCC: [],
    CC: rng.chance(0.3) ? [person(c).upn] : [],
    FileSize: rng.range(5_000, 2_000_000),
    From: u.upn,
    MessageID: messageId,
    RecipientCount: 1,
    Sent: recordTime(before(c, 20)),
    Subject: fill(rng.pick(SUBJECTS), rng.range(1000, 99999), 2),
    To: [`${rng.pick(['accounts', 'orders', 'john.smith'])}@${rng.pick(EXTERNAL_DOMAINS)}`],
    UniqueID: rng.guid(),
  };
  return r;
}

function dlpClassification(c: RecordContext): AuditRecord {
  const u = person(c);
  const r = head(c, 'DlpClassification', 33, undefined, 'DlpPolicyEventBasedAssistantSharePoint', 4, 'SharePoint');
  const meta = sharePointMeta(c, false);
  r.ObjectId = meta.FilePathUrl;
  r.UserId = u.upn;
  r.SensitiveInfoDetectionIsIncluded = false;
  r.SharePointMetaData = meta;
  const [sitId, sitName] = c.rng.pick(SIT);
  r.SensitiveInfoTypeData = [{ SensitiveInfoTypeId: sitId, SensitiveInfoTypeName: sitName, Count: c.rng.range(1, 20), Confidence: 85 }];
  return r;
}

export const DLP_MIX: WeightedTable<RecordBuilder> = weightedTable<RecordBuilder>([
  [dlpExchange, 0.45],
  [dlpSharePoint, 0.4],
  [dlpClassification, 0.15],
]);
