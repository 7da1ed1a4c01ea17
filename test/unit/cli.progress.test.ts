import { describe, expect, it } from 'vitest';
import { startProgress } from '../../src/adapters/cli/progress.js';

const capture = (isTTY: boolean) => {
  const chunks: string[] = [];
  return { stream: { isTTY, columns: 100, write: (s: string) => chunks.push(s) }, text: () => chunks.join('') };
};

describe('progress', () => {
  it('logs plain lines when stderr is not a terminal, and a final one', () => {
    const err = capture(false);
    const p = startProgress({ stdout: capture(false).stream, stderr: err.stream, debug: false, progressIntervalMs: 0 }, { label: 'import', total: 200 });
    p.update(50, () => '50 lines');
    p.update(100, () => '100 lines');
    p.stop();
    const lines = err.text().trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^import: 25% 50 lines \(\d+\.\d s\)$/);
    expect(lines[2]).toMatch(/^import: 100% 100 lines \(\d+\.\d s, done\)$/);
    expect(err.text()).not.toContain('\u001b['); // no terminal control codes in a log
  });

  it('logs at most one line per interval (plus the last) when not a terminal', () => {
    const err = capture(false);
    const p = startProgress({ stdout: capture(false).stream, stderr: err.stream, debug: false, progressIntervalMs: 60_000 }, { label: 'seed', total: 10 });
    for (let i = 1; i <= 10; i++) p.update(i, () => `${i} calls`);
    p.stop();
    expect(err.text().trim().split('\n')).toEqual([expect.stringMatching(/^seed: 100% 10 calls/)]);
  });

  it('draws a bar on a terminal', () => {
    const err = capture(true);
    const p = startProgress({ stdout: capture(false).stream, stderr: err.stream, debug: false }, { label: 'seed', total: 4 });
    p.update(2, () => '2 calls');
    p.stop('4 calls');
    expect(err.text()).toMatch(/seed \[.*\] 100% \| 4 calls/);
  });
});
