/**
 * Event tags: `<prefix>.<content type>.<record type>`, e.g. `o365.audit.general.threat_intelligence`;
 * invalid records: `<prefix>.invalid.<content type>.<record type>`.
 *
 * Naming rules (the README's tag table is generated from `allTags`/`recordTypeTagParts`):
 * - Content type and record type names are the documented member names in snake_case; the content
 *   type keeps its dot (`Audit.AzureActiveDirectory` → `audit.azure_active_directory`).
 * - An upper-case run is one word (acronyms): `ComplianceDLPExchange` → `compliance_dlp_exchange`,
 *   `MIPLabel` → `mip_label`, `PowerBIAudit` → `power_bi_audit`, `AIAppInteraction` → `ai_app_interaction`;
 *   Pascal-case acronyms stay words too (`AirInvestigation` → `air_investigation`, `AipDiscover` → `aip_discover`).
 * - Digits stick to the word before them: `Microsoft365CopilotScheduledPrompt` → `microsoft365_copilot_scheduled_prompt`,
 *   `MS365DCustomDetection` → `ms365d_custom_detection`.
 * - Product names written as one word in Microsoft's branding stay one word: SharePoint → `sharepoint`,
 *   OneDrive → `onedrive` (so `SharePointFileOperation` → `sharepoint_file_operation`, and a user's
 *   `*.sharepoint*` match finds them all). `AeD` (Advanced eDiscovery) → `aed`. Two doc spellings are
 *   mended before splitting: `ProjectForTheweb…` → `project_for_the_web_…`, `DefenderExpertsforXDRAdmin`
 *   → `defender_experts_for_xdr_admin`.
 * - Spaces in doc names (`Viva Engage`, `Viva Goals`) become `_`.
 * - A RecordType the table does not list keeps its number (`o365.audit.general.9999`); a missing or
 *   non-integer RecordType is `unknown`.
 * Tags are built once per (content type, record type) and cached; routing a record does no string work.
 */
import { CONTENT_TYPES } from '../contracts';
import { AUDIT_LOG_RECORD_TYPES } from '../schema/record-types';

/** Names whose generic split would be wrong or ugly. */
const NAME_OVERRIDES: Readonly<Record<string, string>> = { AeD: 'aed' };
/** Spelling fixes applied before splitting: one-word brands, and doc typos that would split oddly. */
const SPELLING: ReadonlyArray<[RegExp, string]> = [
  [/SharePoint/g, 'Sharepoint'],
  [/OneDrive/g, 'Onedrive'],
  [/ForTheweb/g, 'ForTheWeb'], // the docs spelled it ForTheWeb until 2024
  [/Expertsfor/g, 'ExpertsFor'],
];

/** A documented name in snake_case, following the rules above. */
export function snakeCase(name: string): string {
  const override = NAME_OVERRIDES[name];
  if (override !== undefined) return override;
  let s = name;
  for (const [re, word] of SPELLING) s = s.replace(re, word);
  s = s
    .replace(/([a-z])([A-Z])/g, '$1_$2') // fooBar → foo_Bar
    .replace(/([0-9])([A-Z][a-z])/g, '$1_$2') // 365Copilot → 365_Copilot (but 365D stays)
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2') // DLPExchange → DLP_Exchange
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return s.toLowerCase() || 'unknown';
}

/** `Audit.AzureActiveDirectory` → `audit.azure_active_directory`. */
export function contentTypeTagPart(contentType: string): string {
  return contentType.split('.').map(snakeCase).join('.');
}

/** The record-type part of a tag: the snake_case name, the number when unlisted, `unknown` without an integer. */
export function recordTypeTagPart(recordType: number | null): string {
  if (recordType === null || !Number.isInteger(recordType)) return 'unknown';
  const name = AUDIT_LOG_RECORD_TYPES[recordType];
  return name !== undefined ? snakeCase(name) : String(recordType);
}

/** Documented name of a record type, or null when the table does not list it. */
export function recordTypeDocName(recordType: number | null): string | null {
  if (recordType === null) return null;
  return AUDIT_LOG_RECORD_TYPES[recordType] ?? null;
}

/** Highest RecordType cached in the dense arrays; larger integers use a small bounded map. */
const DENSE_MAX = 1023;
/** Distinct unlisted RecordTypes cached per content type (input is untrusted: bound the cache). */
const SPARSE_MAX = 256;

/** Tags and names of one content type, indexed by RecordType. */
export interface ContentTypeTags {
  readonly contentType: string;
  tag(recordType: number | null, invalid: boolean): string;
  name(recordType: number | null): string | null;
}

class ContentTypeTagCache implements ContentTypeTags {
  private readonly valid: string[] = [];
  private readonly invalid: string[] = [];
  private readonly names: Array<string | null> = [];
  private readonly sparse = new Map<number, [string, string]>();
  private readonly unknownValid: string;
  private readonly unknownInvalid: string;
  private readonly base: string;
  private readonly invalidBase: string;

  constructor(
    prefix: string,
    readonly contentType: string,
  ) {
    const ct = contentTypeTagPart(contentType);
    this.base = `${prefix}.${ct}.`;
    this.invalidBase = `${prefix}.invalid.${ct}.`;
    this.unknownValid = this.base + 'unknown';
    this.unknownInvalid = this.invalidBase + 'unknown';
    for (let rt = 0; rt <= DENSE_MAX; rt++) {
      const part = recordTypeTagPart(rt);
      this.valid.push(this.base + part);
      this.invalid.push(this.invalidBase + part);
      this.names.push(recordTypeDocName(rt));
    }
  }

  tag(recordType: number | null, invalid: boolean): string {
    if (recordType === null) return invalid ? this.unknownInvalid : this.unknownValid;
    if (recordType >= 0 && recordType <= DENSE_MAX && (recordType | 0) === recordType) return invalid ? this.invalid[recordType] : this.valid[recordType];
    if (!Number.isInteger(recordType)) return invalid ? this.unknownInvalid : this.unknownValid;
    let pair = this.sparse.get(recordType);
    if (!pair) {
      const part = recordTypeTagPart(recordType);
      pair = [this.base + part, this.invalidBase + part];
      if (this.sparse.size < SPARSE_MAX) this.sparse.set(recordType, pair);
    }
    return invalid ? pair[1] : pair[0];
  }

  name(recordType: number | null): string | null {
    if (recordType === null) return null;
    if (recordType >= 0 && recordType <= DENSE_MAX && (recordType | 0) === recordType) return this.names[recordType];
    return recordTypeDocName(recordType);
  }
}

/** Per-prefix tag cache: one ContentTypeTags per content type, created on first use. */
export class TagTable {
  private readonly byContentType = new Map<string, ContentTypeTags>();
  constructor(readonly prefix: string) {
    for (const ct of CONTENT_TYPES) this.byContentType.set(ct, new ContentTypeTagCache(prefix, ct));
  }

  forContentType(contentType: string): ContentTypeTags {
    let t = this.byContentType.get(contentType);
    if (!t) {
      t = new ContentTypeTagCache(this.prefix, contentType);
      // Content types come from config (five known ones); bound anyway.
      if (this.byContentType.size < 64) this.byContentType.set(contentType, t);
    }
    return t;
  }

  tag(contentType: string, recordType: number | null, invalid = false): string {
    return this.forContentType(contentType).tag(recordType, invalid);
  }
}

export interface TagInfo {
  tag: string;
  contentType: string;
  /** null for the `unknown` tag. */
  recordType: number | null;
  recordTypeName: string | null;
  invalid: boolean;
}

/** Every documented record type with its tag part, ordered by value (for the README's record-type table). */
export function recordTypeTagParts(): Array<{ recordType: number; name: string; tagPart: string }> {
  return Object.keys(AUDIT_LOG_RECORD_TYPES)
    .map(Number)
    .sort((a, b) => a - b)
    .map((rt) => ({ recordType: rt, name: AUDIT_LOG_RECORD_TYPES[rt], tagPart: recordTypeTagPart(rt) }));
}

/**
 * Every tag a user may route on: each content type × (each documented record type, then `unknown`),
 * valid then invalid. Unlisted record types add `<prefix>.<content type>.<number>` tags not listed here.
 * Microsoft publishes no content type ↔ record type mapping, so every pairing is possible.
 */
export function allTags(prefix: string): TagInfo[] {
  const out: TagInfo[] = [];
  const types = recordTypeTagParts();
  for (const invalid of [false, true]) {
    for (const ct of CONTENT_TYPES) {
      const base = invalid ? `${prefix}.invalid.${contentTypeTagPart(ct)}.` : `${prefix}.${contentTypeTagPart(ct)}.`;
      for (const t of types) out.push({ tag: base + t.tagPart, contentType: ct, recordType: t.recordType, recordTypeName: t.name, invalid });
      out.push({ tag: base + 'unknown', contentType: ct, recordType: null, recordTypeName: null, invalid });
    }
  }
  return out;
}
