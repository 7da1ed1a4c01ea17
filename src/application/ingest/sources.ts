import type { Channel } from '../../domain/customer/customer.events.js';
import type { IngestSource } from './ingest.use-case.js';

// The sources calls come from: each name's priority (a higher one's trait value wins a tie of
// times) and the channel its calls are recorded on when they do not say their own. The server takes
// these unless C360_SOURCES says otherwise; a library's defaultSourceOf takes them as they are.

export type SourceSpec = { readonly priority: number; readonly channel: Channel };

/** CRM data outranks support, support clickstream; `c360 import`'s default source is an import, not a web visit. */
export const DEFAULT_SOURCES: Readonly<Record<string, SourceSpec>> = {
  web: { priority: 10, channel: 'web' },
  mobile: { priority: 10, channel: 'mobile' },
  support: { priority: 30, channel: 'support' },
  crm: { priority: 50, channel: 'crm' },
  import: { priority: 0, channel: 'other' },
};

/** The source a name stands for in a table of sources: a name the table lacks is priority 0 on the web channel. */
export const sourceIn = (table: Readonly<Record<string, SourceSpec>>, name: string): IngestSource => {
  const s = Object.hasOwn(table, name) ? table[name] : undefined;
  return { name, priority: s?.priority ?? 0, channel: s?.channel ?? 'web' };
};
