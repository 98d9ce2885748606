/** Word lists for realistic values. Invented, plausible, and none taken from real tenants. */

export const ORG_NAMES = [
  'contoso', 'fabrikam', 'northwind', 'adatum', 'tailspin', 'wingtip', 'litware', 'proseware',
  'woodgrove', 'alpineski', 'coho', 'lucerne', 'margie', 'trey', 'wideworld', 'fourthcoffee',
] as const;

export const FIRST_NAMES = [
  'adele', 'alex', 'allan', 'bianca', 'carlos', 'christie', 'diego', 'emily', 'enrico', 'grady',
  'henrietta', 'isaiah', 'johanna', 'joni', 'lee', 'lidia', 'lynne', 'megan', 'miriam', 'nestor',
  'patti', 'pradeep', 'raul', 'sakura', 'yuki', 'zrinka', 'omar', 'fatima', 'ingrid', 'tomasz',
] as const;

export const LAST_NAMES = [
  'vance', 'wilber', 'deyoung', 'pena', 'gonzalez', 'cline', 'siciliani', 'braun', 'rossi', 'archie',
  'cerveny', 'langer', 'holt', 'sherman', 'lee', 'holloway', 'valdez', 'bowen', 'graham', 'wilke',
  'fernandez', 'gupta', 'soto', 'tanaka', 'sato', 'horvat', 'haddad', 'nasser', 'berg', 'nowak',
] as const;

export const EXTERNAL_DOMAINS = [
  'mail-delivery.example', 'invoices-portal.example', 'secure-docs.example', 'partner.example.org',
  'newsletter.example.net', 'shipping-notice.example', 'payroll-update.example', 'cloudfiles.example.com',
] as const;

export const SUBJECTS = [
  'Invoice #{n} overdue', 'Your mailbox is almost full', 'Shared document: Q{q} budget', 'Action required: verify your account',
  'Delivery failed for parcel {n}', 'Meeting notes', 'Updated payroll information', 'Re: contract draft v{q}',
  'Password expires today', 'Scanned document {n}', 'Voice message received', 'Weekly report',
] as const;

export const FILE_NAMES = [
  'Q{q} Budget.xlsx', 'Contract {n}.docx', 'Roadmap.pptx', 'invoice_{n}.pdf', 'Team photo.jpg', 'notes.txt',
  'Onboarding guide.docx', 'Sales pipeline.xlsx', 'scan_{n}.pdf', 'Architecture.vsdx', 'export_{n}.csv', 'setup.zip',
] as const;

export const MALWARE_FAMILIES = [
  'Trojan:Win32/Wacatac.B!ml', 'HTML/Phish.VS!MSR', 'Trojan:O97M/Sadoca.C!ml', 'TrojanDownloader:JS/Nemucod',
  'Malicious Payload', 'Trojan_Gen_FileWithSpoofedExtension_A', 'Ransom:Win32/Locky.A', 'PWS:HTML/Phish.RB!MTB',
] as const;

export const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36',
  'Microsoft SkyDriveSync 24.070.0407.0003 ship; Windows NT 10.0 (19045)',
  'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
] as const;

export const BROWSERS = [
  ['Edge', '124.0.2478.80'], ['Chrome', '124.0.0.0'], ['Safari', '17.4'], ['Firefox', '125.0'],
] as const;

export const PLATFORMS = ['WinDesktop', 'MacDesktop', 'iOS', 'Android', 'Linux'] as const;

export const PHISH_URLS = [
  'https://login-verify.example/office/auth', 'https://docs-share.example.net/view?id={n}',
  'https://secure-invoice.example/pay/{n}', 'http://198.51.100.{q}/wp/o365.html',
  'https://storage.example.com/bucket/{n}/index.html', 'https://bit.example/{n}',
] as const;

export const CLIENT_INFO = [
  'Client=OWA;Mozilla/5.0 (Windows NT 10.0; Win64; x64)', 'Client=OutlookService;Outlook-iOS/2.0;',
  'Client=MSExchangeRPC', 'Client=REST;Client=RESTSystem;;', 'Client=WebServices;Microsoft Office/16.0;',
] as const;

export const SERVERS = ['AM0PR07MB', 'DB9PR02MB', 'PR3PR03MB', 'SN6PR04MB', 'BY5PR13MB', 'CH2PR11MB'] as const;

/** Expands {n} (number) and {q} (small number) placeholders. */
export function fill(template: string, n: number, q: number): string {
  return template.replace('{n}', String(n)).replace('{q}', String(q));
}
