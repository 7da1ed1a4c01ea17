import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import type { QuarantineReason } from '../../application/ports/quarantine.port.js';
import { firstNonUtf8 } from '../../domain/shared/well-formed.js';
import { CliError } from './cli-error.js';
import { compileHeader, rowToCall, type CsvColumn } from './csv-call.js';

// A file of Segment calls as a stream of records, one line (or CSV row) at a time, never the whole
// file in memory. A line that cannot become a call object is still a record: it carries its raw
// text and the reason, so the importer quarantines it and moves on. The file is read as bytes and
// each line (or row) must be UTF-8: one that is not is such a record, naming the line and the byte,
// never read with U+FFFD in place of what it holds (two Latin-1 names would become one).

/**
 * `end`: how many bytes of the file lie up to the end of the record (its line break included),
 * where that is known, so that progress counts what is done, not what the file stream has read
 * ahead. Absent for a CSV row csv-parse skipped (it ends before the next record).
 */
export type ImportRecord = (
  | { readonly line: number; readonly call: unknown }
  /** `unreadable`: what the quarantine keeps (the line's text, or its bytes as {bytes, kept, text, base64} when not UTF-8) */
  | { readonly line: number; readonly unreadable: unknown; readonly reason: QuarantineReason }
) & {
  readonly end?: number | undefined;
};

const utf8 = new TextDecoder('utf-8', { fatal: true });
const lossy = new TextDecoder();

const hex = (byte: number) => `0x${byte.toString(16).toUpperCase().padStart(2, '0')}`;

/**
 * A line (or row) that is not UTF-8: refused as the HTTP API refuses such a body (BODY_NOT_UTF8,
 * naming the byte), kept as the HTTP quarantine keeps one: its text (what is not UTF-8 shown as
 * U+FFFD) and its bytes exactly, in base64.
 */
const notUtf8 = (line: number, bytes: Uint8Array, end: number | undefined, what: 'line' | 'row' = 'line'): ImportRecord => {
  const at = firstNonUtf8(bytes);
  const message = `line ${line} is not UTF-8 text: byte ${at} of the ${what} (${hex(bytes[at] ?? 0)}) does not begin or continue a UTF-8 character; save the file as UTF-8 (a Latin-1 é, 0xE9, is 0xC3 0xA9 in UTF-8)`;
  const base64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  return {
    line,
    end,
    unreadable: { bytes: bytes.byteLength, kept: bytes.byteLength, text: lossy.decode(bytes), base64 },
    reason: { code: 'BODY_NOT_UTF8', message, issues: [{ path: '(line)', message: `not UTF-8 at byte ${at} of the ${what}` }] },
  };
};

/**
 * The lines of a byte stream, as readline splits them (at LF, CR LF or a lone CR), each with the
 * bytes of the file up to the end of its line break (`end`).
 */
async function* byteLines(input: AsyncIterable<Buffer>): AsyncGenerator<{ readonly bytes: Buffer; readonly end: number }> {
  let pending: Buffer[] = [];
  /** bytes of the file before the first byte not yet given as part of a line */
  let start = 0;
  /** a line the last chunk ended with a CR: given once the next chunk says whether an LF follows */
  let held: { line: Buffer; from: number; end: number } | undefined;
  /** `line` (its break cut off) begins at `from` of the file and ends, break included, at `end` */
  const split = function* (line: Buffer, from: number, end: number) {
    // a lone CR inside (an old Mac file) breaks lines too
    let at = 0;
    for (let cr = line.indexOf(13); cr >= 0; cr = line.indexOf(13, at)) {
      yield { bytes: line.subarray(at, cr), end: from + cr + 1 };
      at = cr + 1;
    }
    yield { bytes: line.subarray(at), end };
  };
  for await (const chunk of input) {
    let from = 0;
    if (held) {
      if (chunk[0] === 10) {
        from = 1;
        start += 1;
        held.end += 1;
      }
      yield* split(held.line, held.from, held.end);
      held = undefined;
    }
    for (let at = chunk.indexOf(10, from); at >= 0; at = chunk.indexOf(10, from)) {
      const piece = chunk.subarray(from, at);
      const line = pending.length ? Buffer.concat([...pending, piece]) : piece;
      pending = [];
      const end = start + line.length + 1;
      yield* split(line.at(-1) === 13 ? line.subarray(0, -1) : line, start, end);
      start = end;
      from = at + 1;
    }
    if (from < chunk.length) pending.push(chunk.subarray(from));
    // a CR ending the chunk ends a line; an LF opening the next chunk is its break's
    if (pending.at(-1)?.at(-1) === 13) {
      const line = Buffer.concat(pending);
      pending = [];
      held = { line: line.subarray(0, -1), from: start, end: start + line.length };
      start += line.length;
    }
  }
  if (held) yield* split(held.line, held.from, held.end);
  if (pending.length) {
    const line = Buffer.concat(pending);
    yield* split(line, start, start + line.length);
  }
}

export async function* ndjsonRecords(input: Readable): AsyncGenerator<ImportRecord> {
  let line = 0;
  for await (const { bytes: raw, end } of byteLines(input)) {
    line++;
    // a BOM (EF BB BF) before the first line is not part of it
    const bytes = line === 1 && raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? raw.subarray(3) : raw;
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      yield notUtf8(line, bytes, end);
      continue;
    }
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
        reason: { code: 'MALFORMED_JSON', message: `line ${line} is not valid JSON`, issues: [{ path: '(line)', message: 'not valid JSON' }] },
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

/**
 * csv-parse's text read as Latin-1 (each byte one character: nothing decoded as U+FFFD, every byte
 * kept) back to its bytes, then to UTF-8 text; undefined when those bytes are not UTF-8.
 */
const bytesOf = (latin1: string | undefined): Buffer => Buffer.from(latin1 ?? '', 'latin1');
const textOf = (bytes: Buffer): string | undefined => {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
};

/** The stream without a UTF-8 BOM at its start, and whether it had one. */
const withoutBom = (input: Readable): { readonly stream: Readable; readonly bom: () => number } => {
  let bom = 0;
  async function* strip(): AsyncGenerator<Buffer> {
    let head = Buffer.alloc(0);
    let decided = false;
    for await (const chunk of input as AsyncIterable<Buffer>) {
      if (decided) {
        yield chunk;
        continue;
      }
      head = Buffer.concat([head, chunk]);
      if (head.length < 3 && Buffer.from([0xef, 0xbb, 0xbf]).subarray(0, head.length).equals(head)) continue;
      decided = true;
      if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) bom = 3;
      if (head.length > bom) yield head.subarray(bom);
    }
    if (!decided && head.length) yield head;
  }
  return { stream: Readable.from(strip(), { objectMode: false }), bom: () => bom };
};

export async function* csvRecords(input: Readable, file: string): AsyncGenerator<ImportRecord> {
  const skipped: ImportRecord[] = [];
  const body = withoutBom(input);
  const parser = body.stream.pipe(
    parse({
      // Latin-1: each byte one character, turned back into the bytes and read as UTF-8 below, so a
      // row that is not UTF-8 is refused, never read with U+FFFD (the BOM is taken off before: a
      // BOM found by csv-parse would have it decode as UTF-8 itself)
      encoding: 'latin1',
      bom: false,
      info: true,
      raw: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      on_skip: (err, raw) => {
        const bytes = bytesOf(raw);
        const text = textOf(bytes);
        const line = firstLine(Number((err as { lines?: unknown } | undefined)?.lines ?? 0), raw);
        if (text === undefined) return void skipped.push(notUtf8(line, bytes, undefined, 'row'));
        const message =
          err?.code === 'CSV_RECORD_INCONSISTENT_COLUMNS'
            ? 'has a different number of cells than the header'
            : `cannot be read as CSV (${err?.code ?? 'unknown error'})`;
        skipped.push({
          line,
          unreadable: text,
          reason: { code: 'INVALID_CSV_ROW', message: `line ${line} ${message}`, issues: [{ path: '(line)', message }] },
        });
        return undefined;
      },
    }),
  );
  input.on('error', (e) => parser.destroy(e));
  body.stream.on('error', (e) => parser.destroy(e));
  let columns: CsvColumn[] | undefined;
  for await (const { info, raw: latin1, record } of parser as AsyncIterable<{ info: { lines: number; bytes: number }; raw: string; record: string[] }>) {
    // a row csv-parse skipped has no byte position of its own: it ends before this record
    yield* skipped.splice(0);
    // the row's bytes hold each of its cells (their quotes undone): when they are UTF-8, so is every cell
    const bytes = bytesOf(latin1);
    const raw = textOf(bytes);
    const cells = () => record.map((c) => utf8.decode(bytesOf(c)));
    if (!columns) {
      if (raw === undefined) {
        const at = firstNonUtf8(bytes);
        throw new CliError(`${file}: the header row is not UTF-8 text (byte ${at}, ${hex(bytes[at] ?? 0)}); save the file as UTF-8`);
      }
      columns = compileHeader(file, cells());
      continue;
    }
    const line = firstLine(info.lines, latin1);
    const end = info.bytes + body.bom();
    if (raw === undefined) {
      yield notUtf8(line, bytes, end, 'row');
      continue;
    }
    const mapped = rowToCall(columns, cells());
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
