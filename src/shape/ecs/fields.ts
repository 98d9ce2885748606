/**
 * Every field an ECS document of ours can hold, with its mapping type: the ECS fields (checked against
 * ECS 9.4's own definitions by test/shape/ecs/ecs-fields.test.ts) and the `o365.*` fields (not ECS).
 * The Elasticsearch template in deploy/elasticsearch/ is generated from these tables, so a field we
 * emit and a field the template maps are one list. The index has `dynamic: false`: a field not listed
 * here stays in `_source` but is never added to the mapping, so the field count cannot grow.
 */

/** ECS fields we write (or the template's ingest pipeline writes: geo, AS, parsed user agent). */
export const ECS_FIELDS: Readonly<Record<string, string>> = {
  '@timestamp': 'date',
  'ecs.version': 'keyword',
  message: 'match_only_text',
  tags: 'keyword',
  'error.message': 'match_only_text',
  'event.kind': 'keyword',
  'event.category': 'keyword',
  'event.type': 'keyword',
  'event.outcome': 'keyword',
  'event.id': 'keyword',
  'event.code': 'keyword',
  'event.action': 'keyword',
  'event.provider': 'keyword',
  'event.dataset': 'keyword',
  'event.module': 'keyword',
  'event.severity': 'long',
  'event.start': 'date',
  'data_stream.dataset': 'constant_keyword',
  'data_stream.type': 'constant_keyword',
  'data_stream.namespace': 'constant_keyword',
  'organization.id': 'keyword',
  'organization.name': 'keyword',
  'host.id': 'keyword',
  'host.name': 'keyword',
  'client.address': 'keyword',
  'client.ip': 'ip',
  'client.port': 'long',
  'client.domain': 'keyword',
  'source.ip': 'ip',
  'source.port': 'long',
  'source.geo.country_name': 'keyword',
  'source.geo.country_iso_code': 'keyword',
  'source.geo.region_name': 'keyword',
  'source.geo.city_name': 'keyword',
  'source.geo.location': 'geo_point',
  'source.as.number': 'long',
  'source.as.organization.name': 'keyword',
  'source.user.email': 'keyword',
  'source.user.id': 'keyword',
  'source.user.name': 'keyword',
  'source.user.domain': 'keyword',
  'server.address': 'keyword',
  'server.ip': 'ip',
  'server.domain': 'keyword',
  'destination.ip': 'ip',
  'destination.user.email': 'keyword',
  'destination.user.id': 'keyword',
  'destination.user.name': 'keyword',
  'destination.user.domain': 'keyword',
  'user.id': 'keyword',
  'user.name': 'keyword',
  'user.email': 'keyword',
  'user.domain': 'keyword',
  'user.full_name': 'keyword',
  'user.target.id': 'keyword',
  'user.target.email': 'keyword',
  'user.target.name': 'keyword',
  'user.target.domain': 'keyword',
  'user_agent.original': 'keyword',
  'user_agent.name': 'keyword',
  'user_agent.version': 'keyword',
  'user_agent.os.name': 'keyword',
  'user_agent.os.version': 'keyword',
  'user_agent.device.name': 'keyword',
  'network.type': 'keyword',
  'process.name': 'keyword',
  'group.name': 'keyword',
  'related.ip': 'ip',
  'related.user': 'keyword',
  'related.hash': 'keyword',
  'url.original': 'wildcard',
  'url.full': 'wildcard',
  'url.domain': 'keyword',
  'url.scheme': 'keyword',
  'url.path': 'wildcard',
  'url.query': 'keyword',
  'url.port': 'long',
  'url.fragment': 'keyword',
  'file.name': 'keyword',
  'file.path': 'keyword',
  'file.directory': 'keyword',
  'file.extension': 'keyword',
  'file.inode': 'keyword',
  'file.owner': 'keyword',
  'file.mtime': 'date',
  'file.size': 'long',
  'file.hash.sha256': 'keyword',
  'rule.name': 'keyword',
  'rule.id': 'keyword',
  'rule.category': 'keyword',
  'rule.ruleset': 'keyword',
  'rule.description': 'keyword',
  'rule.reference': 'keyword',
  'threat.technique.id': 'keyword',
  'threat.software.name': 'keyword',
  'threat.software.type': 'keyword',
  'email.message_id': 'wildcard',
  'email.local_id': 'keyword',
  'email.subject': 'keyword',
  'email.direction': 'keyword',
  'email.delivery_timestamp': 'date',
  'email.sender.address': 'keyword',
  'email.from.address': 'keyword',
  'email.to.address': 'keyword',
  'email.attachments': 'nested',
  'email.attachments.file.name': 'keyword',
  'email.attachments.file.extension': 'keyword',
  'email.attachments.file.mime_type': 'keyword',
  'email.attachments.file.size': 'long',
  'email.attachments.file.hash.sha256': 'keyword',
};

/**
 * Columns a prebuilt ES|QL rule reads that neither ECS 9.4 nor Elastic's o365 pipeline defines
 * (collection_onedrive_excessive_file_downloads). ES|QL refuses a query naming an unknown column, so the
 * template maps them (keyword); the shaper never writes them.
 */
export const RULE_ONLY_FIELDS: Readonly<Record<string, string>> = { 'session.id': 'keyword', 'token.id': 'keyword', 'application.name': 'keyword' };

/** Constant values the template gives the data stream fields (the document carries only the dataset). */
export const DATA_STREAM = { type: 'logs', dataset: 'o365.audit', namespace: 'bridge' } as const;

/** Most keys kept in one name/value list (Parameters, ExtendedProperties, ModifiedProperties) and in AIR Data's top level. */
export const MAX_LIST_KEYS = 128;

/**
 * Keys of the name/value lists that get their own keyword field at Elastic's path (the prebuilt rules read
 * them or Elastic maps them explicitly; ES|QL and EQL cannot read inside a `flattened` field). Every key, these included,
 * is also searchable under the one flattened field `o365.flattened.<list>.<key>`.
 */
export const LIST_KEYS: Readonly<Record<'Parameters' | 'ExtendedProperties' | 'ModifiedProperties', readonly string[]>> = {
  Parameters: [
    'AccessRights', 'AllowFederatedUsers', 'AllowGuestUser', 'BlindCopyTo', 'BodyContainsWords', 'DeleteMessage',
    'Enabled', 'ForwardAsAttachmentTo', 'ForwardTo', 'ForwardingAddress', 'ForwardingSmtpAddress', 'From',
    'GrantSendOnBehalfTo', 'Identity', 'MoveToFolder', 'Name', 'RedirectMessageTo', 'RedirectTo', 'RedirectToRecipients',
    'SubjectContainsWords', 'User', 'WithinSizeRangeMinimum', '_raw',
  ],
  ExtendedProperties: ['KeepMeSignedIn', 'RequestType', 'ResultStatusDetail', 'UserAuthenticationMethod', 'UserAgent', '_raw'],
  // Each ModifiedProperties key holds {NewValue, OldValue}.
  ModifiedProperties: [
    'AllowFederatedUsers', 'AllowGuestUser', 'AllowTeamsConsumer', 'IsPublic', 'Role_DisplayName', 'Role_TemplateId',
    'ShareUsingAnonymousLinks', 'ShareWithGuests', '_raw',
  ],
};

/** Keys of AIR/alert `Data` that Elastic copies beside `Data.flattened` (its `knownKeys`), with their types. */
export const DATA_KNOWN_KEYS: readonly string[] = [
  'ad', 'af', 'aii', 'ail', 'alk', 'als', 'an', 'at', 'cid', 'cpid', 'dm', 'dpn', 'eid', 'etps', 'etype', 'f3u', 'fvs',
  'imsgid', 'lon', 'mat', 'md', 'ms', 'od', 'op', 'ot', 'plk', 'pud', 'reid', 'rid', 'sev', 'sict', 'sid', 'sip', 'sitmi',
  'srt', 'ssic', 'suid', 'tdc', 'te', 'thn', 'tht', 'tid', 'tpid', 'tpt', 'trc', 'ts', 'tsd', 'ttdt', 'ttr', 'upfc',
  'upfv', 'ut', 'von', 'wl', 'zfh', 'zfn', 'zmfh', 'zmfn', 'zu',
];
export const DATA_DATE_KEYS: ReadonlySet<string> = new Set(['at', 'md', 'te', 'ts', 'ttdt']);

/**
 * `o365.audit.*` fields the template maps (path below `o365.audit`, type). Strings are keyword unless said;
 * values Elastic converts to strings (RecordType, UserType, Actor/Target Type, …) are keyword as there.
 * Anything else a record carries stays in `_source` under `o365.audit` (Discover shows it) without a mapping.
 */
export const O365_AUDIT_FIELDS: Readonly<Record<string, string>> = (() => {
  const m: Record<string, string> = {};
  const kw = (names: string) => {
    for (const n of names.split(/\s+/)) if (n) m[n] = 'keyword';
  };
  kw(`AadAppId Activity ActorContextId ActorInfoString ActorIpAddress ActorUserId ActorYammerUserId AdditionalActionsAndResults
    AirAdminActionSource AirAdminActionType AlertEntityId AlertId AlertType AppId AppName AppVersion Application ApplicationDisplayName
    ApplicationId Approver AuthenticationType AzureActiveDirectoryEventType BCLValue BulkApprovalId Category ClientAppId
    ClientApplication ClientIP ClientIPAddress ClientInfoString ClientRequestId CmdletVersion CommunicationType Connector Connectors
    CorrelationId CreationTime DataType DatabaseType DeepLinkUrl DeeplinkURL DeliveryAction DetectionDate DetectionMethod DetectionType
    DeviceName Directionality EffectiveOrganization EntityType ErrorNumber EventData EventDeepLink EventSource Experience ExternalAccess
    FileExtension FileSize GroupName Id ImplicitShare IncidentId InsightId InterSystemsId InternalLogonType InternetMessageId
    IntraSystemId InvestigationId InvestigationName InvestigationType InvestigationUrn ItemName ItemType KesMailId Language
    LastModifiedBy LastModifiedDate LatestDeliveryLocation ListBaseType ListId ListItemUniqueId LogonError LogonType LogonUserSid
    MailboxGuid MailboxOwnerMasterAccountSid MailboxOwnerSid MailboxOwnerUPN MessageDate MessageTime Name NetworkMessageId NewValue
    NonPIIParameters ObjectDisplayName ObjectId ObjectType OldValue Operation OperationId OrganizationId OrganizationName
    OriginalDeliveryLocation OriginatingDomain OriginatingServer P1Sender P1SenderDomain P2Sender P2SenderDomain PhishConfidenceLevel
    Platform Policy PolicyAction PolicyId Recipients RecordType RelativeUrl RequestId ResultCount ResultStatus RunningTime Scope
    SearchQueryText SecurityComplianceCenterEventType Sender SenderIP SenderIp SessionId Severity Sha1 Sha256 Site SiteUrl Source
    SourceFileExtension SourceFileName SourceId SourceRelativeUrl SourceWorkload StartTime StartTimeUtc Status SubAirAdminActionTypeMail
    Subject SubmissionConfidenceLevel SubmissionContentSubType SubmissionContentType SubmissionId SubmissionState SubmissionType
    Submitter SubmitterId SupportTicketId TargetContextId TargetFilePath TargetUserOrGroupName TargetUserOrGroupType TeamGuid TeamName
    ThreatsAndDetectionTech TimeOfClick Timestamp TokenObjectId TokenTenantId UniqueSharingId Url URL UrlClickAction URLClickAction
    UserAgent UserId UserIp UserKey UserType Verdict Version WebId Workload WorkspaceId WorkspaceName YammerNetworkId
    Actor.ID Actor.Type Target.ID Target.Type DeviceProperties.Name DeviceProperties.Value OperationProperties.Name
    OperationProperties.Value AffectedItems.Id AffectedItems.InternetMessageId AffectedItems.Subject
    AppAccessContext.AADSessionId AppAccessContext.APIId AppAccessContext.ClientAppId AppAccessContext.ClientAppName
    AppAccessContext.CorrelationId AppAccessContext.IssuedAtTime AppAccessContext.TokenIssuedAtTime AppAccessContext.UniqueTokenId
    AttachmentData.FileName AttachmentData.FileType AttachmentData.FileVerdict AttachmentData.MalwareFamily AttachmentData.SHA256
    AuthDetails.Name AuthDetails.Value SystemOverrides.Details SystemOverrides.FinalOverride SystemOverrides.Result
    SystemOverrides.Source FileData.DocumentId FileData.FileName FileData.FilePath FileData.FileSize FileData.FileVerdict
    FileData.MalwareFamily FileData.SHA256 ExchangeMetaData.BCC ExchangeMetaData.CC ExchangeMetaData.From ExchangeMetaData.MessageID
    ExchangeMetaData.Subject ExchangeMetaData.To ExchangeMetaData.UniqueID SharePointMetaData.FileName SharePointMetaData.FileOwner
    SharePointMetaData.FilePathUrl SharePointMetaData.From SharePointMetaData.UniqueID ExceptionInfo.Reason RescanResult.Id
    RescanResult.RescanVerdict RescanResult.Timestamp InsightData.Type`);
  for (const n of ['EndTimeUtc', 'LastUpdateTimeUtc', 'FilteringDate', 'ExchangeMetaData.Sent']) m[n] = 'date';
  for (const n of ['OperationCount', 'FileSizeBytes']) m[n] = 'long';
  for (const n of ['CustomUniqueId', 'SensitiveInfoDetectionIsIncluded', 'IsManagedDevice']) m[n] = 'boolean';
  for (const n of ['HasForeignTenantUsers', 'HasGuestUsers', 'HasOtherGuestUsers', 'HasUnauthenticatedUsers']) m['ParticipantInfo.' + n] = 'boolean';
  m.Comments = 'text';
  m.Description = 'match_only_text';
  // Open-ended structures Elastic also maps as flattened (a flattened field takes objects only: AlertLinks,
  // a list of URLs after the pipeline, is keyword here).
  for (const n of ['Actions', 'Members', 'PolicyDetails', 'AdditionalInfo', 'Data.flattened']) m[n] = 'flattened';
  m.AlertLinks = 'keyword';
  for (const k of DATA_KNOWN_KEYS) m['Data.' + k] = DATA_DATE_KEYS.has(k) ? 'date' : k === 'sip' ? 'ip' : 'keyword';
  for (const k of LIST_KEYS.Parameters) m['Parameters.' + k] = 'keyword';
  for (const k of LIST_KEYS.ExtendedProperties) m['ExtendedProperties.' + k] = 'keyword';
  for (const k of LIST_KEYS.ModifiedProperties) {
    if (k === '_raw') m['ModifiedProperties._raw'] = 'keyword';
    else for (const v of ['NewValue', 'OldValue']) m[`ModifiedProperties.${k}.${v}`] = 'keyword';
  }
  return m;
})();

/** `o365.*` fields outside `o365.audit`: the bridge's metadata and the one flattened field of the name/value lists. */
export const O365_OTHER_FIELDS: Readonly<Record<string, string>> = {
  'bridge.tenant': 'keyword',
  'bridge.content_type': 'keyword',
  'bridge.content_id': 'keyword',
  'bridge.record_type_name': 'keyword',
  'bridge.truncated': 'keyword',
  'bridge.warnings': 'flattened',
  'bridge.errors': 'flattened',
  flattened: 'flattened',
};
