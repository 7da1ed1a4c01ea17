// The star schema: every table's columns (as DuckDB types; Parquet and Glue types follow), its
// row key and how it is partitioned. Facts are partitioned tenant/year/month (Hive style), the
// dimensions by tenant. Partition columns live in the path, never in the file.

export type ColumnType = 'VARCHAR' | 'BIGINT' | 'INTEGER' | 'DOUBLE' | 'DATE';
export type Column = { readonly name: string; readonly type: ColumnType; readonly required: boolean };
export type TableSpec = {
  readonly name: string;
  readonly kind: 'fact' | 'dimension';
  /** columns stored in the file (partition columns excluded) */
  readonly columns: readonly Column[];
  readonly key: readonly string[];
};

const req = (name: string, type: ColumnType): Column => ({ name, type, required: true });
const opt = (name: string, type: ColumnType): Column => ({ name, type, required: false });
const when = [req('observed_at', 'BIGINT'), req('date_key', 'DATE')];

export const FACTS = {
  fact_order: {
    name: 'fact_order',
    kind: 'fact',
    columns: [
      req('event_id', 'VARCHAR'),
      req('order_id', 'VARCHAR'),
      req('customer_id', 'VARCHAR'),
      req('channel', 'VARCHAR'),
      req('currency', 'VARCHAR'),
      req('revenue_minor', 'BIGINT'),
      ...when,
    ],
    key: ['event_id'],
  },
  fact_order_line: {
    name: 'fact_order_line',
    kind: 'fact',
    columns: [
      req('event_id', 'VARCHAR'),
      req('line_no', 'INTEGER'),
      req('order_id', 'VARCHAR'),
      req('customer_id', 'VARCHAR'),
      req('product_id', 'VARCHAR'),
      opt('category', 'VARCHAR'),
      req('quantity', 'BIGINT'),
      opt('price_minor', 'BIGINT'),
      req('currency', 'VARCHAR'),
      ...when,
    ],
    key: ['event_id', 'line_no'],
  },
  fact_view: {
    name: 'fact_view',
    kind: 'fact',
    columns: [
      req('event_id', 'VARCHAR'),
      req('customer_id', 'VARCHAR'),
      req('kind', 'VARCHAR'),
      opt('name', 'VARCHAR'),
      opt('category', 'VARCHAR'),
      req('channel', 'VARCHAR'),
      ...when,
    ],
    key: ['event_id'],
  },
  fact_product_event: {
    name: 'fact_product_event',
    kind: 'fact',
    columns: [
      req('event_id', 'VARCHAR'),
      req('customer_id', 'VARCHAR'),
      req('product_id', 'VARCHAR'),
      opt('category', 'VARCHAR'),
      req('action', 'VARCHAR'),
      req('channel', 'VARCHAR'),
      ...when,
    ],
    key: ['event_id'],
  },
  fact_tracked_event: {
    name: 'fact_tracked_event',
    kind: 'fact',
    columns: [req('event_id', 'VARCHAR'), req('customer_id', 'VARCHAR'), req('event', 'VARCHAR'), req('channel', 'VARCHAR'), ...when],
    key: ['event_id'],
  },
  fact_engagement_decision: {
    name: 'fact_engagement_decision',
    kind: 'fact',
    columns: [
      req('event_id', 'VARCHAR'),
      req('decision_id', 'VARCHAR'),
      req('customer_id', 'VARCHAR'),
      req('trigger', 'VARCHAR'),
      req('outcome', 'VARCHAR'),
      opt('reason', 'VARCHAR'),
      opt('offer_id', 'VARCHAR'),
      opt('channel', 'VARCHAR'),
      ...when,
    ],
    key: ['event_id'],
  },
  fact_location: {
    name: 'fact_location',
    kind: 'fact',
    columns: [req('event_id', 'VARCHAR'), req('customer_id', 'VARCHAR'), req('location_key', 'VARCHAR'), ...when],
    key: ['event_id'],
  },
} as const satisfies Record<string, TableSpec>;

export const DIMENSIONS = {
  dim_customer: {
    name: 'dim_customer',
    kind: 'dimension',
    columns: [
      req('customer_id', 'VARCHAR'),
      req('survivor_id', 'VARCHAR'),
      opt('merged_into', 'VARCHAR'),
      opt('first_seen_at', 'BIGINT'),
      opt('last_seen_at', 'BIGINT'),
    ],
    key: ['customer_id'],
  },
  dim_product: {
    name: 'dim_product',
    kind: 'dimension',
    columns: [req('product_id', 'VARCHAR'), opt('name', 'VARCHAR'), opt('category', 'VARCHAR'), opt('updated_at', 'BIGINT')],
    key: ['product_id'],
  },
  dim_channel: { name: 'dim_channel', kind: 'dimension', columns: [req('channel', 'VARCHAR')], key: ['channel'] },
  dim_date: {
    name: 'dim_date',
    kind: 'dimension',
    columns: [
      req('date_key', 'DATE'),
      req('year', 'INTEGER'),
      req('month', 'INTEGER'),
      req('day', 'INTEGER'),
      req('iso_week', 'INTEGER'),
      req('day_of_week', 'INTEGER'),
    ],
    key: ['date_key'],
  },
  dim_location: {
    name: 'dim_location',
    kind: 'dimension',
    columns: [req('location_key', 'VARCHAR'), opt('country', 'VARCHAR'), opt('region', 'VARCHAR'), opt('city', 'VARCHAR')],
    key: ['location_key'],
  },
} as const satisfies Record<string, TableSpec>;

export type FactName = keyof typeof FACTS;
export type DimensionName = keyof typeof DIMENSIONS;
export const TABLES: readonly TableSpec[] = [...Object.values(FACTS), ...Object.values(DIMENSIONS)];

/** Where a table's rows are, relative to the lake's root (a folder or an S3 prefix): Hive partitions. */
export const tenantPath = (table: string, tenant: string): string => `${table}/tenant=${encodeURIComponent(tenant)}`;
/** the one file of a partition: `<table>/tenant=<t>/[year=<y>/month=<m>/]part-0.parquet` */
export const partitionPath = (table: string, tenant: string, year?: number, month?: number): string =>
  year === undefined ? `${tenantPath(table, tenant)}/part-0.parquet` : `${tenantPath(table, tenant)}/year=${year}/month=${month}/part-0.parquet`;
/** the tenant's checkpoint and erased ids */
export const statePath = (tenant: string): string => `${tenantPath('_state', tenant)}/state.json`;

/** the key a location is known by: the lowercased country|region|city, as the 360 view keys it */
export const locationKey = (l: { country?: string | undefined; region?: string | undefined; city?: string | undefined }): string =>
  [l.country ?? '', l.region ?? '', l.city ?? ''].join('|').toLowerCase();

export const ddl = (t: TableSpec, name = t.name, extra: readonly Column[] = []): string =>
  `CREATE OR REPLACE TABLE ${name} (${[...t.columns, ...extra].map((c) => `"${c.name}" ${c.type}`).join(', ')})`;

const GLUE_TYPES: Readonly<Record<ColumnType, string>> = { VARCHAR: 'string', BIGINT: 'bigint', INTEGER: 'int', DOUBLE: 'double', DATE: 'date' };

/** Each table as a Glue table needs it (columns, then partition keys), for the deploy's catalogue. */
export const glueTables = (): readonly {
  readonly name: string;
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  readonly partitionKeys: readonly { readonly name: string; readonly type: string }[];
}[] =>
  TABLES.map((t) => ({
    name: t.name,
    columns: t.columns.map((c) => ({ name: c.name, type: GLUE_TYPES[c.type] })),
    partitionKeys: [
      { name: 'tenant', type: 'string' },
      ...(t.kind === 'fact'
        ? [
            { name: 'year', type: 'int' },
            { name: 'month', type: 'int' },
          ]
        : []),
    ],
  }));
