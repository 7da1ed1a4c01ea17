import { Presets, SingleBar } from 'cli-progress';
import type { CliIo } from './cli.deps.js';

// Long work shows progress on stderr: a live bar on a terminal; in a log or a pipe, a first line
// after a second and then one every few seconds (and one at the end), so CI logs stay readable.
// With a unit, both show the rate (e.g. "850 calls/s") and the time left at that rate.

export type Progress = {
  /** value out of the total (when known); detail is shown beside it, e.g. "1,200 lines, 3 rejected" (built only when shown) */
  update(value: number, detail?: () => string): void;
  /** the last line; `failed` shows where the work stopped instead of claiming it done */
  stop(detail?: string, failed?: boolean): void;
  /**
   * Ctrl-C: a bar on a terminal is stopped where it is, before the job says it was interrupted, so
   * those lines stay whole below it: a running bar draws over its line again and again, and its
   * stop puts the cursor back where the bar began, so what was written meanwhile was written over.
   * Its later update() and stop() draw nothing. A log (not a terminal) carries on: its stop()
   * line still says where the job stopped.
   */
  interrupt(): void;
};

export type ProgressOptions = {
  readonly label: string;
  readonly total?: number | undefined;
  /** what the value counts ("calls"): shows the rate per second and, with a total, the time left */
  readonly unit?: string | undefined;
  /** the clock (tests) */
  readonly now?: (() => number) | undefined;
};

const percent = (value: number, total: number | undefined): string => (total ? `${Math.min(100, Math.floor((value * 100) / total))}%` : '');

/** 42 s, 3 min 05 s, 1 h 02 min */
export const duration = (seconds: number): string => {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
};

/** The first progress line of a log comes this soon, so the rate and time left show from the first seconds. */
const FIRST_LINE_MS = 1_000;

export const startProgress = (io: CliIo, options: ProgressOptions): Progress => {
  const { label, total, unit } = options;
  const now = options.now ?? Date.now;
  const started = now();
  /** "850 calls/s, 1 min 10 s left" once something is done; empty without a unit */
  const pace = (value: number, at: number, ended = false): string => {
    if (!unit) return '';
    const seconds = (at - started) / 1000;
    if (value <= 0 || seconds <= 0) return `? ${unit}/s`;
    const rate = value / seconds;
    const shown = rate >= 100 ? Math.round(rate).toLocaleString('en-US') : rate.toFixed(1);
    return `${shown} ${unit}/s${total && value < total && !ended ? `, ${duration((total - value) / rate)} left` : ''}`;
  };
  if (io.stderr.isTTY) {
    const format = total
      ? `${label} [{bar}] {percentage}% | {detail}${unit ? ' | {pace}' : ''} | {duration_formatted}${unit ? '' : ', eta {eta_formatted}'}`
      : `${label} {detail}${unit ? ' | {pace}' : ''} | {duration_formatted}`;
    const bar = new SingleBar({ stream: io.stderr as NodeJS.WritableStream, format, hideCursor: true, etaBuffer: 100, fps: 5 }, Presets.shades_classic);
    bar.start(total ?? 1, 0, { detail: '', pace: pace(0, started) });
    let shown = 0;
    let latest = 0;
    let latestDetail: (() => string) | undefined;
    let stopped = false;
    const end = (value: number, detail: string | undefined) => {
      stopped = true;
      bar.update(total ? value : 0, { ...(detail === undefined ? {} : { detail }), pace: pace(value, now(), true) });
      bar.stop();
    };
    return {
      update: (value, detail) => {
        if (stopped) return;
        const at = now();
        latest = value;
        latestDetail = detail ?? latestDetail;
        if (at - shown >= 100) [shown] = [at, bar.update(total ? value : 0, { ...(detail ? { detail: detail() } : {}), pace: pace(value, at) })];
        else bar.update(total ? value : 0);
      },
      // a failed job's bar stays where it stopped
      stop: (detail, failed = false) => {
        if (!stopped) end(total && !failed ? total : latest, detail);
      },
      interrupt: () => {
        if (!stopped) end(latest, latestDetail?.());
      },
    };
  }
  const every = io.progressIntervalMs ?? 5_000;
  let next = started + Math.min(every, FIRST_LINE_MS);
  const line = (value: number, detail: string, end?: 'done' | 'stopped') => {
    const at = now();
    const elapsed = ((at - started) / 1000).toFixed(1);
    const parts = [percent(end === 'done' && total ? total : value, total), [detail, pace(value, at, end !== undefined)].filter(Boolean).join(', ')]
      .filter(Boolean)
      .join(' ');
    io.stderr.write(`${label}: ${parts}${parts ? ' ' : ''}(${elapsed} s${end ? `, ${end}` : ''})\n`);
  };
  let latest: { value: number; detail?: (() => string) | undefined } = { value: 0 };
  return {
    update: (value, detail) => {
      latest = { value, detail };
      const at = now();
      if (at < next) return;
      next = at + every;
      line(value, detail?.() ?? '');
    },
    stop: (detail, failed = false) => line(latest.value, detail ?? latest.detail?.() ?? '', failed ? 'stopped' : 'done'),
    // a log's lines are never written over
    interrupt: () => {},
  };
};
