import { describe, expect, it } from 'vitest';
import { startProgress } from '../../src/adapters/cli/progress.js';
import { screenOf } from '../support/terminal.js';

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

describe('progress with a rate', () => {
  const clock = () => {
    let t = 1_000_000;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  };

  it('logs a first line after a second with the rate and the time left, then one per interval', () => {
    const err = capture(false);
    const c = clock();
    const p = startProgress(
      { stdout: capture(false).stream, stderr: err.stream, debug: false, progressIntervalMs: 5_000 },
      { label: 'seed', total: 10_000, unit: 'calls', now: c.now },
    );
    c.advance(500);
    p.update(400, () => '400 calls');
    expect(err.text()).toBe(''); // not yet
    c.advance(500);
    p.update(800, () => '800 calls');
    // 800 calls in 1 s: 800 calls/s, 9,200 left: 11.5 s
    expect(err.text()).toBe('seed: 8% 800 calls, 800 calls/s, 12 s left (1.0 s)\n');
    c.advance(1_000);
    p.update(1_600, () => '1,600 calls');
    expect(err.text().split('\n')).toHaveLength(2); // the next one waits for the interval
    c.advance(4_000);
    p.update(4_000, () => '4,000 calls');
    expect(err.text().trim().split('\n')[1]).toBe('seed: 40% 4,000 calls, 667 calls/s, 9 s left (6.0 s)');
    c.advance(6_000);
    p.update(10_000, () => '10,000 calls');
    p.stop('10,000 calls');
    expect(err.text().trim().split('\n').at(-1)).toBe('seed: 100% 10,000 calls, 833 calls/s (12.0 s, done)');
  });

  it('says minutes and hours when the time left is long', () => {
    const err = capture(false);
    const c = clock();
    const p = startProgress(
      { stdout: capture(false).stream, stderr: err.stream, debug: false, progressIntervalMs: 0 },
      { label: 'seed', total: 1_000_000, unit: 'calls', now: c.now },
    );
    c.advance(2_000);
    p.update(50, () => '50 calls');
    c.advance(2_000);
    p.update(50_000, () => '50,000 calls');
    expect(err.text().split('\n')[0]).toMatch(/25\.0 calls\/s, 11 h 06 min left/);
    expect(err.text().split('\n')[1]).toMatch(/12,500 calls\/s, 1 min 16 s left/);
  });

  it('shows the rate and the time left on a terminal, and where a stopped job stopped', async () => {
    const err = capture(true);
    const c = clock();
    const p = startProgress({ stdout: capture(false).stream, stderr: err.stream, debug: false }, { label: 'seed', total: 1_000, unit: 'calls', now: c.now });
    c.advance(2_000);
    p.update(100, () => '100 calls');
    await new Promise((resolve) => setTimeout(resolve, 400)); // the bar redraws a few times a second
    expect(err.text()).toMatch(/seed \[.*\] 10% \| 100 calls \| 50\.0 calls\/s, 18 s left/);
    p.stop('100 calls, interrupted', true);
    expect(err.text()).toMatch(/seed \[.*\] 10% \| 100 calls, interrupted \| 50\.0 calls\/s \|/);
  });
});

describe('progress interrupted (Ctrl-C)', () => {
  const FINISHING = 'interrupted: finishing the calls in flight (Ctrl-C again to exit now)';
  const REPORT = 'interrupted: 120 of 1,000 calls sent; they are kept.';

  it('on a terminal, stops the bar where it is: the lines written next stay whole below it, and it draws nothing more', () => {
    const err = capture(true);
    let t = 1_000_000;
    const p = startProgress({ stdout: capture(false).stream, stderr: err.stream, debug: false }, { label: 'seed', total: 1_000, unit: 'calls', now: () => t });
    t += 2_000;
    p.update(100, () => '100 calls');
    // as a job does: the bar first, then the line saying so, the calls in flight, the report
    p.interrupt();
    err.stream.write(`${FINISHING}\n`);
    p.update(120, () => '120 calls');
    p.stop('120 calls', true);
    err.stream.write(`${REPORT}\n`);
    const screen = screenOf(err.text());
    expect(screen[0]).toMatch(/^seed \[.*\] 10% \| 100 calls \| 50\.0 calls\/s \| \d+s$/);
    expect(screen.slice(1)).toEqual([FINISHING, REPORT, '']);
  });

  it('a bar not interrupted first writes over what was written while it ran (why a job interrupts it)', () => {
    const err = capture(true);
    const p = startProgress({ stdout: capture(false).stream, stderr: err.stream, debug: false }, { label: 'seed', total: 1_000, unit: 'calls' });
    p.update(100, () => '100 calls');
    err.stream.write(`${FINISHING}\n`);
    p.stop('120 calls', true);
    err.stream.write(`${REPORT}\n`);
    expect(screenOf(err.text())).not.toContain(FINISHING);
  });

  it('in a log, carries on: the lines follow each other, and the last progress line says where the job stopped', () => {
    const err = capture(false);
    const p = startProgress({ stdout: capture(false).stream, stderr: err.stream, debug: false, progressIntervalMs: 0 }, { label: 'seed', total: 1_000 });
    p.update(100, () => '100 calls');
    p.interrupt();
    err.stream.write(`${FINISHING}\n`);
    p.update(120, () => '120 calls');
    p.stop('120 calls', true);
    const lines = err.text().trim().split('\n');
    expect(lines[0]).toMatch(/^seed: 10% 100 calls \(/);
    expect(lines[1]).toBe(FINISHING);
    expect(lines.at(-1)).toMatch(/^seed: 12% 120 calls \([\d.]+ s, stopped\)$/);
  });
});
