import { Presets, SingleBar } from 'cli-progress';
import type { CliIo } from './cli.deps.js';

// Long work shows progress on stderr: a live bar on a terminal; in a log or a pipe, one line every
// few seconds (and one at the end), so CI logs stay readable.

export type Progress = {
  /** value out of the total (when known); detail is shown beside it, e.g. "1,200 lines, 3 rejected" (built only when shown) */
  update(value: number, detail?: () => string): void;
  /** the last line; `failed` shows where the work stopped instead of claiming it done */
  stop(detail?: string, failed?: boolean): void;
};

export type ProgressOptions = { readonly label: string; readonly total?: number | undefined };

const percent = (value: number, total: number | undefined): string => (total ? `${Math.min(100, Math.floor((value * 100) / total))}%` : '');

export const startProgress = (io: CliIo, options: ProgressOptions): Progress => {
  const { label, total } = options;
  const started = Date.now();
  if (io.stderr.isTTY) {
    const format = total ? `${label} [{bar}] {percentage}% | {detail} | {duration_formatted}, eta {eta_formatted}` : `${label} {detail} | {duration_formatted}`;
    const bar = new SingleBar({ stream: io.stderr as NodeJS.WritableStream, format, hideCursor: true, etaBuffer: 100, fps: 5 }, Presets.shades_classic);
    bar.start(total ?? 1, 0, { detail: '' });
    let shown = 0;
    return {
      update: (value, detail) => {
        const now = Date.now();
        if (detail && now - shown >= 100) [shown] = [now, bar.update(total ? value : 0, { detail: detail() })];
        else bar.update(total ? value : 0);
      },
      stop: (detail, failed = false) => {
        if (total && !failed) bar.update(total, detail === undefined ? {} : { detail });
        else if (detail !== undefined) bar.update(0, { detail });
        bar.stop();
      },
    };
  }
  const every = io.progressIntervalMs ?? 5_000;
  let last = started;
  const line = (value: number, detail: string, end?: 'done' | 'stopped') => {
    const elapsed = ((Date.now() - started) / 1000).toFixed(1);
    const parts = [percent(end === 'done' && total ? total : value, total), detail].filter(Boolean).join(' ');
    io.stderr.write(`${label}: ${parts}${parts ? ' ' : ''}(${elapsed} s${end ? `, ${end}` : ''})\n`);
  };
  let latest: { value: number; detail?: (() => string) | undefined } = { value: 0 };
  return {
    update: (value, detail) => {
      latest = { value, detail };
      const now = Date.now();
      if (now - last < every) return;
      last = now;
      line(value, detail?.() ?? '');
    },
    stop: (detail, failed = false) => line(latest.value, detail ?? latest.detail?.() ?? '', failed ? 'stopped' : 'done'),
  };
};
