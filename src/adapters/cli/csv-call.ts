import type { FieldIssue } from '../../application/segment/segment.schema.js';
import { CliError } from './cli-error.js';

// A CSV row is one Segment call. The header names the field each column fills:
//   type, messageId, userId, anonymousId, previousId, groupId, event, name, category, timestamp, channel
//   dotted paths for nested fields: traits.email, properties.revenue, context.device.id, ...
// Cells are strings unless the header says otherwise with a suffix: `properties.revenue:number`,
// `context.consent.categoryPreferences.Marketing:boolean`, `properties.products:json`. Strings by
// default because identifiers such as "00123" or "+27..." must never turn into numbers. An empty
// cell leaves its field out. A `type` column is required.

export type CellKind = 'string' | 'number' | 'boolean' | 'json';
export type CsvColumn = { readonly header: string; readonly path: readonly string[]; readonly kind: CellKind };

const KINDS = new Set<CellKind>(['string', 'number', 'boolean', 'json']);
const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);

export const CSV_MAPPING_HELP = `
CSV columns: one row is one Segment call; the header names the field each column fills:
  type (required), messageId, userId, anonymousId, previousId, groupId, event, name, timestamp, ...
  nested fields as dotted paths: traits.email, properties.revenue, context.device.id
Cells are text unless the header adds :number, :boolean or :json, e.g.
  properties.revenue:number, context.consent.categoryPreferences.Marketing:boolean, properties.products:json
Empty cells are left out.`;

/** Reads the header row; a mistake in it fails the whole import, since every row would be wrong. */
export const compileHeader = (file: string, headers: readonly string[]): CsvColumn[] => {
  const columns = headers.map((raw, i): CsvColumn => {
    const where = `${file}: header column ${i + 1} "${raw}"`;
    const [field = '', kind = 'string', ...rest] = raw.trim().split(':');
    if (rest.length || !KINDS.has(kind as CellKind))
      throw new CliError(`${where}: unknown type "${kind}"; use :number, :boolean or :json (text is the default)`);
    const path = field.split('.');
    if (path.some((p) => p === '' || FORBIDDEN.has(p))) throw new CliError(`${where}: not a field path such as traits.email`);
    return { header: raw, path, kind: kind as CellKind };
  });
  const seen = new Set<string>();
  for (const c of columns) {
    const key = c.path.join('.');
    if (seen.has(key)) throw new CliError(`${file}: header names ${key} twice`);
    seen.add(key);
  }
  for (const c of columns) {
    const key = c.path.join('.');
    const nested = [...seen].find((other) => other.startsWith(`${key}.`));
    if (nested) throw new CliError(`${file}: header has both ${key} and ${nested}; use one of them`);
  }
  if (!seen.has('type')) throw new CliError(`${file}: the header has no "type" column (identify, track, page, screen, alias or group)`);
  return columns;
};

const convert = (kind: CellKind, cell: string): { value: unknown } | { error: string } => {
  switch (kind) {
    case 'string':
      return { value: cell };
    case 'number': {
      const n = Number(cell.trim());
      return cell.trim() !== '' && Number.isFinite(n) ? { value: n } : { error: 'is not a number' };
    }
    case 'boolean': {
      const v = cell.trim().toLowerCase();
      return v === 'true' || v === '1' ? { value: true } : v === 'false' || v === '0' ? { value: false } : { error: 'is not true or false' };
    }
    case 'json':
      try {
        return { value: JSON.parse(cell) };
      } catch {
        return { error: 'is not valid JSON' };
      }
  }
};

/** One data row to a call object; cells that do not fit their column's type are reported by field path. */
export const rowToCall = (columns: readonly CsvColumn[], row: readonly string[]): { call: Record<string, unknown> } | { issues: FieldIssue[] } => {
  const call: Record<string, unknown> = {};
  const issues: FieldIssue[] = [];
  columns.forEach((column, i) => {
    const cell = row[i] ?? '';
    if (cell === '') return;
    const converted = convert(column.kind, cell);
    if ('error' in converted) {
      issues.push({ path: column.path.join('.'), message: `column "${column.header}" ${converted.error}` });
      return;
    }
    let target = call;
    for (const key of column.path.slice(0, -1)) target = (target[key] ??= {}) as Record<string, unknown>;
    target[column.path.at(-1)!] = converted.value;
  });
  return issues.length ? { issues } : { call };
};
