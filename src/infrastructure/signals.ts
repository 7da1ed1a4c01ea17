/**
 * One Ctrl-C under `npm start` or `npm run c360` reaches node two or three times within
 * milliseconds: the terminal signals the whole process group, and npm forwards what it got. A
 * signal within this long of the first is that same Ctrl-C; only a later one is a second.
 */
export const REPEAT_MS = 1_000;
