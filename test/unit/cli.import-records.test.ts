import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { csvRecords, ndjsonRecords, type ImportRecord } from '../../src/adapters/cli/import-records.js';

// A file of calls read as bytes: lines split as readline splits them (LF, CR LF, a lone CR), with
// the bytes up to each line's end, wherever the chunks of the stream break; and a line that is not
// UTF-8 refused naming its line and byte, kept byte for byte, never read with U+FFFD.

const chunked = (bytes: Buffer, size: number) =>
  Readable.from(Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size)));
const all = async (records: AsyncIterable<ImportRecord>) => {
  const out: ImportRecord[] = [];
  for await (const r of records) out.push(r);
  return out;
};

describe('ndjsonRecords', () => {
  it('splits lines as readline does (LF, CR LF, a lone CR), with the bytes up to each line end, in chunks of any size', async () => {
    const lines = ['{"a":"é"}', '', '{"b":2}', '{"c":3}', '  ', '{"d":"😀"}', '{"e":5}'];
    const bytes = Buffer.from(`\uFEFF${lines[0]}\r\n${lines[1]}\n${lines[2]}\r${lines[3]}\r\n${lines[4]}\n${lines[5]}\n${lines[6]}`);
    // readline on the same text: the lines and their numbers
    const read: string[] = [];
    for await (const l of createInterface({ input: Readable.from([bytes]), crlfDelay: Infinity })) read.push(l);
    expect(read.map((l, i) => (i === 0 ? l.replace(/^\uFEFF/, '') : l))).toEqual(lines);
    for (const size of [1, 2, 3, 7, bytes.length]) {
      const records = await all(ndjsonRecords(chunked(bytes, size)));
      expect(records.map((r) => [r.line, 'call' in r ? r.call : r.unreadable])).toEqual([
        [1, { a: 'é' }],
        [3, { b: 2 }],
        [4, { c: 3 }],
        [6, { d: '😀' }],
        [7, { e: 5 }],
      ]);
      // each end is where the line's break ends in the file
      const endOf = (marker: string) => bytes.indexOf(marker) + Buffer.byteLength(marker);
      expect(records.map((r) => r.end)).toEqual([endOf('"é"}\r\n'), endOf('{"b":2}\r'), endOf('{"c":3}\r\n'), endOf('"😀"}\n'), bytes.length]);
    }
  });

  it('refuses a line that is not UTF-8 naming the line and byte, keeps its bytes exactly, and reads on', async () => {
    const bytes = Buffer.concat([
      Buffer.from('{"userId":"a","name":"M'),
      Buffer.from([0xfc]), // Latin-1 ü
      Buffer.from('ller"}\n{"userId":"b","name":"M'),
      Buffer.from([0xf8]), // Latin-1 ø
      Buffer.from('ller"}\n{"userId":"c","name":"Müller"}\n'),
    ]);
    for (const size of [1, 5, bytes.length]) {
      const records = await all(ndjsonRecords(chunked(bytes, size)));
      expect(records.map((r) => [r.line, 'call' in r ? 'call' : r.reason.code])).toEqual([
        [1, 'BODY_NOT_UTF8'],
        [2, 'BODY_NOT_UTF8'],
        [3, 'call'],
      ]);
      const [first, second] = records as Extract<ImportRecord, { unreadable: unknown }>[];
      expect(first!.reason.message).toMatch(/^line 1 is not UTF-8 text: byte 23 of the line \(0xFC\)/);
      expect(second!.reason.message).toMatch(/^line 2 is not UTF-8 text: byte 23 of the line \(0xF8\)/);
      // the two names stay two: each line's bytes are kept exactly
      const keptA = first!.unreadable as { base64: string };
      const keptB = second!.unreadable as { base64: string };
      expect(Buffer.from(keptA.base64, 'base64')).toEqual(bytes.subarray(0, bytes.indexOf(10)));
      expect(keptA.base64).not.toBe(keptB.base64);
      expect((records[2] as { call: unknown }).call).toEqual({ userId: 'c', name: 'Müller' });
    }
  });
});

describe('csvRecords', () => {
  it('refuses a row that is not UTF-8 naming its line and byte, and reads the UTF-8 rows on', async () => {
    const rows = Buffer.concat([Buffer.from('type,userId,traits.name\nidentify,u1,Ren'), Buffer.from([0xe9]), Buffer.from('\nidentify,u2,René\n')]);
    // with a BOM or without, in chunks that cut it and the characters
    for (const bytes of [rows, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), rows])])
      for (const size of [1, 4, bytes.length]) {
        const records = await all(csvRecords(chunked(bytes, size), 'x.csv'));
        expect(records.map((r) => [r.line, 'call' in r ? r.call : r.reason.code])).toEqual([
          [2, 'BODY_NOT_UTF8'],
          [3, { type: 'identify', userId: 'u2', traits: { name: 'René' } }],
        ]);
        expect((records[0] as { reason: { message: string } }).reason.message).toMatch(/^line 2 is not UTF-8 text: byte 15 of the row \(0xE9\)/);
        expect(Buffer.from((records[0] as { unreadable: { base64: string } }).unreadable.base64, 'base64')).toEqual(
          Buffer.from('identify,u1,Ren\xe9\n', 'latin1'),
        );
        expect(records.map((r) => r.end)).toEqual([bytes.indexOf('identify,u2'), bytes.length]);
      }
  });
});
