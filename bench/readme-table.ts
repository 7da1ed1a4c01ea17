import { readFileSync, writeFileSync } from 'node:fs';

// Writes a bench result table into the README between `<!-- bench:NAME -->` and
// `<!-- /bench:NAME -->`, so the README's figures are the bench's output, never typed by hand.

export type BenchRow = { name: string; value: number; unit: string; goal?: string; pass?: boolean; note?: string };

export const tableOf = (rows: readonly BenchRow[], meta: string): string =>
  [
    `| benchmark | value | unit | goal | met | note |`,
    `| --- | --- | --- | --- | --- | --- |`,
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.value.toLocaleString('en-US')} | ${r.unit} | ${r.goal ?? ''} | ${r.pass === undefined ? '' : r.pass ? 'yes' : 'no'} | ${(r.note ?? '').replaceAll('|', '/')} |`,
    ),
    '',
    meta,
  ].join('\n');

/** Puts `text` into the README between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`. */
export const writeReadmeBlock = (name: string, text: string): void => {
  const file = new URL('../README.md', import.meta.url);
  const readme = readFileSync(file, 'utf8');
  const open = `<!-- bench:${name} -->`;
  const close = `<!-- /bench:${name} -->`;
  const a = readme.indexOf(open);
  const b = readme.indexOf(close);
  if (a < 0 || b < a) throw new Error(`README.md has no ${open} ... ${close} block`);
  writeFileSync(file, `${readme.slice(0, a + open.length)}\n${text}\n${readme.slice(b)}`);
};

export const writeReadmeTable = (name: string, rows: readonly BenchRow[], meta: string): void => writeReadmeBlock(name, tableOf(rows, meta));
