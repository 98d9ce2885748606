import { strict as assert } from 'node:assert';
import { AUDIT_LOG_RECORD_TYPES, USER_TYPES, recordTypeName } from '../../src/schema/record-types';

describe('schema/record-types', () => {
  it('holds all 257 documented AuditLogRecordType values', () => {
    assert.equal(Object.keys(AUDIT_LOG_RECORD_TYPES).length, 257);
  });

  it('names the Defender types exactly as Microsoft does', () => {
    assert.equal(AUDIT_LOG_RECORD_TYPES[28], 'ThreatIntelligence');
    assert.equal(AUDIT_LOG_RECORD_TYPES[41], 'ThreatIntelligenceUrl');
    assert.equal(AUDIT_LOG_RECORD_TYPES[47], 'ThreatIntelligenceAtpContent');
    assert.equal(AUDIT_LOG_RECORD_TYPES[64], 'AirInvestigation');
  });

  it('spot-checks the table: first, last, gaps, renamed and spaced names', () => {
    assert.equal(AUDIT_LOG_RECORD_TYPES[1], 'ExchangeAdmin');
    assert.equal(AUDIT_LOG_RECORD_TYPES[15], 'AzureActiveDirectoryStsLogon');
    assert.equal(AUDIT_LOG_RECORD_TYPES[22], 'Viva Engage');
    assert.equal(AUDIT_LOG_RECORD_TYPES[44], 'VivaInsights');
    assert.equal(AUDIT_LOG_RECORD_TYPES[195], 'ProjectForThewebProject');
    assert.equal(AUDIT_LOG_RECORD_TYPES[216], 'Viva Goals');
    assert.equal(AUDIT_LOG_RECORD_TYPES[261], 'CopilotInteraction');
    assert.equal(AUDIT_LOG_RECORD_TYPES[463], 'VivaGlintAgenticCampaign');
    for (const gap of [0, 5, 12, 26, 27, 155, 464]) assert.equal(AUDIT_LOG_RECORD_TYPES[gap], undefined, `gap ${gap}`);
  });

  it('recordTypeName answers for integers only', () => {
    assert.equal(recordTypeName(64), 'AirInvestigation');
    assert.equal(recordTypeName(99999), undefined);
    assert.equal(recordTypeName(28.5), undefined);
    assert.equal(recordTypeName(NaN), undefined);
    assert.equal(recordTypeName(-1), undefined);
  });

  it('holds the UserType enum (0..10)', () => {
    assert.deepEqual(Object.keys(USER_TYPES).map(Number), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal(USER_TYPES[0], 'Regular');
    assert.equal(USER_TYPES[3], 'DCAdmin');
    assert.equal(USER_TYPES[4], 'System');
    assert.equal(USER_TYPES[10], 'Guest');
  });

  it('cannot be modified by callers', () => {
    assert.ok(Object.isFrozen(AUDIT_LOG_RECORD_TYPES));
    assert.ok(Object.isFrozen(USER_TYPES));
    assert.throws(() => {
      (AUDIT_LOG_RECORD_TYPES as Record<number, string>)[28] = 'x';
    }, TypeError);
    assert.equal(AUDIT_LOG_RECORD_TYPES[28], 'ThreatIntelligence');
  });
});
