import { zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { Cell } from './lake.buffer.js';
import type { ColumnType, TableSpec } from './lake.tables.js';

// A table's rows as a Parquet file and back, in pure JS (hyparquet-writer and hyparquet): no native
// engine, so it fits a Lambda bundle. The columns and their types are the table's own (lake.tables.ts);
// Parquet types are those DuckDB writes for them (VARCHAR: UTF8 byte arrays, BIGINT: INT64,
// INTEGER: INT32, DOUBLE, DATE: INT32 days), every column optional, pages compressed with zstd
// (node:zlib's, Node 22.15 and later).

/** a schema element as hyparquet-writer takes it (it pins its own hyparquet's types) */
type SchemaElement = NonNullable<Parameters<typeof parquetWriteBuffer>[0]['schema']>[number];

const ELEMENT: Readonly<Record<ColumnType, Omit<SchemaElement, 'name'>>> = {
  VARCHAR: { type: 'BYTE_ARRAY', converted_type: 'UTF8' },
  BIGINT: { type: 'INT64' },
  INTEGER: { type: 'INT32' },
  DOUBLE: { type: 'DOUBLE' },
  DATE: { type: 'INT32', converted_type: 'DATE' },
};

const DAY = 86_400_000;

const toParquet = (type: ColumnType, v: Cell): unknown => {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'VARCHAR':
      return String(v);
    case 'BIGINT':
      return BigInt(Math.trunc(Number(v)));
    case 'INTEGER':
    case 'DATE':
      return Math.trunc(Number(v));
    default:
      return Number(v);
  }
};

const fromParquet = (v: unknown): Cell => {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return Math.floor(v.getTime() / DAY);
  if (typeof v === 'number' || typeof v === 'string') return v;
  return String(v);
};

/** The rows (cells in the table's column order) as one zstd Parquet file. */
export const encodeRows = (t: TableSpec, rows: readonly (readonly Cell[])[]): Uint8Array => {
  const buffer = parquetWriteBuffer({
    columnData: t.columns.map((c, i) => ({ name: c.name, data: rows.map((r) => toParquet(c.type, r[i])) })),
    schema: [
      { name: 'root', num_children: t.columns.length },
      ...t.columns.map((c) => ({ name: c.name, ...ELEMENT[c.type], repetition_type: 'OPTIONAL' as const })),
    ],
    codec: 'ZSTD',
    compressors: { ZSTD: (input: Uint8Array) => zstdCompressSync(input) },
    createdBy: 'c360 lake (hyparquet-writer)',
  });
  return new Uint8Array(buffer);
};

/** A Parquet file's rows, cells in the table's column order (a column the file lacks reads as null). */
export const decodeRows = async (t: TableSpec, bytes: Uint8Array): Promise<Cell[][]> => {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const objects = (await parquetReadObjects({
    file,
    compressors: { ZSTD: (input: Uint8Array) => new Uint8Array(zstdDecompressSync(input)) },
  })) as Record<string, unknown>[];
  return objects.map((o) => t.columns.map((c) => fromParquet(o[c.name])));
};
