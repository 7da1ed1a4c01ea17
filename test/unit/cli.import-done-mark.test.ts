import { describe, expect, it } from 'vitest';
import { DoneMark } from '../../src/adapters/cli/import.command.js';

// How far an import is: the lines from the first that are all done, whatever order they finish in.

describe('DoneMark', () => {
  it('counts only the lines from the first that are all done, and names the first line not done', () => {
    const mark = new DoneMark();
    const done = [1, 2, 4, 5].map((line) => mark.read({ line, end: line * 10 }));
    expect([mark.lines, mark.bytes, mark.resumeLine]).toEqual([0, 0, 1]);
    done[1]!(); // line 2 before line 1: nothing is done from the start yet
    expect([mark.lines, mark.bytes, mark.resumeLine]).toEqual([0, 0, 1]);
    done[0]!();
    expect([mark.lines, mark.bytes, mark.resumeLine]).toEqual([2, 20, 4]);
    done[3]!();
    expect([mark.lines, mark.bytes, mark.resumeLine]).toEqual([2, 20, 4]);
    done[2]!();
    // all read lines done: the next line to take is after the last one read
    expect([mark.lines, mark.bytes, mark.resumeLine]).toEqual([4, 50, 6]);
  });

  it('keeps the bytes of the last line with a position when a line has none (a CSV row csv-parse skipped)', () => {
    const mark = new DoneMark();
    mark.read({ line: 1, end: 7 })();
    mark.read({ line: 2 })();
    expect([mark.lines, mark.bytes]).toEqual([2, 7]);
  });

  it('stays right over many lines, with a line in flight across the points where it drops what is done', () => {
    const mark = new DoneMark();
    const done = new Map<number, () => void>();
    const read = (from: number, to: number) => {
      for (let line = from; line <= to; line++) done.set(line, mark.read({ line, end: line * 2 }));
    };
    const finish = (from: number, to: number, except: number) => {
      for (let line = to; line >= from; line--) if (line !== except) done.get(line)!();
    };
    read(1, 1_100);
    finish(1, 1_100, 1_050);
    expect([mark.lines, mark.bytes, mark.resumeLine]).toEqual([1_049, 2_098, 1_050]);
    read(1_101, 3_000);
    finish(1_101, 3_000, 2_500);
    expect([mark.lines, mark.bytes, mark.resumeLine]).toEqual([1_049, 2_098, 1_050]);
    done.get(1_050)!();
    expect([mark.lines, mark.bytes, mark.resumeLine]).toEqual([2_499, 4_998, 2_500]);
    done.get(2_500)!();
    expect([mark.lines, mark.bytes, mark.resumeLine]).toEqual([3_000, 6_000, 3_001]);
  });
});
