import { afterEach, describe, expect, it, vi } from 'vitest';
import { onInterrupt } from '../../src/infrastructure/cli.js';
import { REPEAT_MS } from '../../src/infrastructure/signals.js';

// One Ctrl-C on `npm run c360 -- import ...` reaches node two or three times within milliseconds
// (the terminal signals the process group, npm forwards it again): it must stop the job cleanly,
// not be taken for a second Ctrl-C that exits at once without the summary and the resume line.

afterEach(() => vi.restoreAllMocks());

describe('Ctrl-C during a job', () => {
  it('takes the copies of one Ctrl-C within REPEAT_MS as that one: the job stops cleanly, nothing exits', () => {
    let t = 1_000_000;
    let err = '';
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    let stops = 0;
    let writtenBeforeStop: string | undefined;
    const release = onInterrupt(
      { stderr: { write: (s: string) => ((err += s), true) } },
      () => t,
    )(() => {
      stops++;
      writtenBeforeStop = err;
    });
    try {
      process.emit('SIGINT');
      t += 5;
      process.emit('SIGINT');
      t += 20;
      process.emit('SIGINT');
      expect(stops).toBe(1);
      expect(exit).not.toHaveBeenCalled();
      // the job stops its progress bar before the line is written: a running bar writes over it
      expect(writtenBeforeStop).toBe('');
      expect(err).toBe('interrupted: finishing the calls in flight (Ctrl-C again to exit now)\n');
      // a second Ctrl-C, a moment later: out at once
      t += REPEAT_MS;
      process.emit('SIGINT');
      expect(exit).toHaveBeenCalledWith(130);
      expect(err).toContain('interrupted again: exiting now\n');
    } finally {
      release();
    }
  });
});
