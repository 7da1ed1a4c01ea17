import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { parse } from 'csv-parse';
import type { QuarantineReason } from '../../application/ports/quarantine.port.js';
import { CliError } from './cli-error.js';
import { compileHeader, rowToCall, type CsvColumn } from './csv-call.js';

// A file of Segment calls as a stream of records, one line (or CSV row) at a time, never the whole
// file in memory. A line that cannot become a call object is still a record: it carries its raw
// text and the reason, so the importer quarantines it and moves on.

/**
 * `end`: how many bytes of the file lie up to the end of the record (its line break included),
 * where that is known, so that progress counts what is done, not what the file stream has read
 * ahead. Absent for a CSV row csv-parse skipped (it ends before the next record).
 */
export type ImportRecord = (
  | { readonly line: number; readonly call: unknown }
  | { readonly line: number; readonly unreadable: string; readonly reason: QuarantineReason }
) & {
  readonly end?: number | undefined;
};

export async function* ndjsonRecords(input: Readable): AsyncGenerator<ImportRecord> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  // each line with one byte of line break: a CRLF file is counted a byte short a line (under, never
  // over), a last line without a break a byte over (the file's end: all of it is then done)
  let end = 0;
  for await (const raw of lines) {
    line++;
    end += Buffer.byteLength(raw) + 1;
    const text = line === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    if (text.trim() === '') continue;
    let call: unknown;
    try {
      call = JSON.parse(text);
    } catch {
      // the parser's own message quotes the line; the reason is kept apart from the payload
      yield {
        line,
        end,
        unreadable: text,
        reason: { code: 'INVALID_JSON', message: `line ${line} is not valid JSON`, issues: [{ path: '(line)', message: 'not valid JSON' }] },
      };
      continue;
    }
    yield { line, end, call };
  }
}

/** The first line of a record that csv-parse reports by its last line (quoted cells span lines). */
const firstLine = (lastLine: number, raw: string | undefined): number => {
  const body = (raw ?? '').replace(/^(\r?\n)+/, '').replace(/\r?\n$/, '');
  return lastLine - (body.match(/\n/g)?.length ?? 0);
};

export async function* csvRecords(input: Readable, file: string): AsyncGenerator<ImportRecord> {
  const skipped: ImportRecord[] = [];
  const parser = input.pipe(
    parse({
      bom: true,
      info: true,
      raw: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      on_skip: (err, raw) => {
        const line = firstLine(Number((err as { lines?: unknown } | undefined)?.lines ?? 0), raw);
        const message =
          err?.code === 'CSV_RECORD_INCONSISTENT_COLUMNS'
            ? 'has a different number of cells than the header'
            : `cannot be read as CSV (${err?.code ?? 'unknown error'})`;
        skipped.push({
          line,
          unreadable: raw ?? '',
          reason: { code: 'INVALID_CSV_ROW', message: `line ${line} ${message}`, issues: [{ path: '(line)', message }] },
        });
        return undefined;
      },
    }),
  );
  input.on('error', (e) => parser.destroy(e));
  let columns: CsvColumn[] | undefined;
  for await (const { info, raw, record } of parser as AsyncIterable<{ info: { lines: number; bytes: number }; raw: string; record: string[] }>) {
    // a row csv-parse skipped has no byte position of its own: it ends before this record
    yield* skipped.splice(0);
    if (!columns) {
      columns = compileHeader(file, record);
      continue;
    }
    const line = firstLine(info.lines, raw);
    const end = info.bytes;
    const mapped = rowToCall(columns, record);
    if ('call' in mapped) yield { line, end, call: mapped.call };
    else
      yield {
        line,
        end,
        unreadable: raw,
        reason: { code: 'INVALID_CSV_CELL', message: `line ${line}: ${mapped.issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, issues: mapped.issues },
      };
  }
  yield* skipped.splice(0);
  if (!columns) throw new CliError(`${file}: no header row; the first line must name the columns (see c360 import --help)`);
}
