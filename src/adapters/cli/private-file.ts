import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `text` to `path` readable and writable by the user only (0600), whether or not the file
 * existed: `writeFile(path, text, { mode })` applies the mode only to a file it creates, so an
 * existing world-readable file stays world-readable. The text goes to a new file of its own in the
 * same directory, created 0600, then renamed over `path`: no byte is ever in a file others can
 * read, nor reachable through a descriptor someone opened on the old file. A symbolic link at
 * `path` is replaced, not followed.
 */
export const writePrivateFile = async (path: string, text: string): Promise<void> => {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  // wx: a new file (never one that exists), created 0600 (a umask only takes bits away)
  const file = await open(temp, 'wx', 0o600);
  try {
    try {
      await file.writeFile(text);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (e) {
    await unlink(temp).catch(() => {});
    throw e;
  }
};
