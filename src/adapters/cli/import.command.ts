import { createHash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { Option, type Command } from 'commander';
import { callBoundsProblem } from '../../application/ingest/call-bounds.js';
import type { IngestOutcome } from '../../application/ingest/ingest.use-case.js';
import type { QuarantineReason } from '../../application/ports/quarantine.port.js';
import { CliError, describeError, EXIT } from './cli-error.js';
import { CSV_MAPPING_HELP } from './csv-call.js';
import { csvRecords, ndjsonRecords, type ImportRecord } from './import-records.js';
import { httpUrl, integer, sourceName } from './options.js';
import { plural } from './output.js';
import type { Action, CommandContext } from './command-context.js';
import { startProgress } from './progress.js';
import { MAX_BATCH_CALLS, remoteTarget } from './remote.js';

// `c360 import <file>`: Segment calls from NDJSON or CSV, streamed. A bad line never stops the
// import: it is quarantined with its reason (nothing lost) and listed by line number at the end.

type ImportOptions = { format?: 'ndjson' | 'csv'; source: string; concurrency: number; strict?: boolean; url?: string; writeKey?: string };
export type RejectedLine = {
  readonly line: number;
  readonly code: string;
  readonly fields: readonly string[];
  readonly message: string;
  /** each field's problem (with --url, the first 3 the server lists) */
  readonly issues: readonly FieldIssue[];
  readonly quarantineId: string;
  /**
   * a refused call (replayed after a fix), not a line that is no call at all (unreadable, not JSON,
   * not UTF-8) nor one the quarantine keeps as text (nested deeper than it keeps as JSON)
   */
  readonly replayable: boolean;
  /** why a line that is a call cannot be replayed (kept as its JSON text), corrected in the file instead */
  readonly notReplayable?: string | undefined;
};

type FieldIssue = { readonly path: string; readonly message: string };

/** the report lists this many rejected lines; the quarantine keeps all of them */
const REPORT_LIMIT = 1_000;

/**
 * A line's call with a messageId of its own when it has neither a messageId nor a timestamp: such a
 * call is otherwise known by when it was received, so importing the file again would store it
 * again, and two equal lines arriving in the same millisecond would be taken for one. The id is the
 * file (its real path, size and modification time) and the line number: importing the same file
 * again skips the line, and equal lines on other lines are other calls.
 */
export const lineIds = async (file: string, info: Stats): Promise<(line: number, call: unknown) => unknown> => {
  const arrival = await lineArrivals(file, info);
  return (line, call) => {
    if (!call || typeof call !== 'object' || Array.isArray(call)) return call;
    const c = call as Record<string, unknown>;
    if (c.messageId != null || c.timestamp != null) return call;
    return { ...c, messageId: `import-${arrival(line)}` };
  };
};

/**
 * What names a line of this file as it is now (path, size, modification time, line number): the
 * messageId of a call line that has none, and the arrival of a line that is not a call, so that
 * importing the unchanged file again adds no second quarantine entry for it.
 */
const lineArrivals = async (file: string, info: Stats): Promise<(line: number) => string> => {
  const identity = `${await realpath(file)}\n${info.size}\n${info.mtimeMs}`;
  return (line) => createHash('sha256').update(`${identity}\n${line}`).digest('base64url').slice(0, 32);
};

export const registerImport = (program: Command, action: Action): void => {
  program
    .command('import')
    .description('import Segment calls (identify, track, page, ...) from an NDJSON or CSV file')
    .argument('<file>', 'the file to read')
    .addOption(new Option('--format <format>', 'file format (default: csv for *.csv, else ndjson)').choices(['ndjson', 'csv']))
    .option('--source <name>', 'the source these calls come from (priority and channel from C360_SOURCES)', sourceName, 'import')
    .option('--concurrency <n>', 'calls in flight at once (1 keeps the file order)', integer(1, 256), 1)
    .option('--strict', 'exit with 1 when any line was rejected')
    .option('--url <url>', 'send to the API of a running server (e.g. http://127.0.0.1:3000) in batches of at most 100 calls, in file order', httpUrl)
    .option('--write-key <key>', "with --url: the write key (default: C360_WRITE_KEY, else the data dir's secrets.json); its source replaces --source")
    .addHelpText('after', CSV_MAPPING_HELP)
    .action(action((ctx, file: string, options: ImportOptions) => importFile(ctx, file, options)));
};

/**
 * How far the import really is: the lines from the first that are all done (ingested or
 * quarantined; with --url, sent), and the bytes of the file they take. The file stream reads
 * ahead and calls in flight or in an unsent batch are not done, so neither counts: a stopped
 * import shows where it stopped, and `resumeLine` is where importing the file again gets new work.
 */
export class DoneMark {
  private readonly queue: { readonly line: number; readonly end: number | undefined; done: boolean }[] = [];
  private head = 0;
  private lastRead = 0;
  /** bytes of the file up to the end of the last line done (in file order) */
  bytes = 0;
  /** lines done, in file order */
  lines = 0;

  /** a record taken from the file; returns its completion */
  read(record: { readonly line: number; readonly end?: number | undefined }): () => void {
    const entry = { line: record.line, end: record.end, done: false };
    this.queue.push(entry);
    this.lastRead = record.line;
    return () => {
      entry.done = true;
      this.advance();
    };
  }

  /** the first line not done: lines before it are all done */
  get resumeLine(): number {
    return this.queue[this.head]?.line ?? this.lastRead + 1;
  }

  private advance(): void {
    for (let e = this.queue[this.head]; e?.done; e = this.queue[this.head]) {
      this.lines++;
      if (e.end !== undefined) this.bytes = Math.max(this.bytes, e.end);
      this.head++;
    }
    // drop the entries done, now and then, not one at a time
    if (this.head > 1_024) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }
}

/** the progress detail: lines done, rejected, and where a stopped import stopped */
const progressDetail = (mark: DoneMark, rejected: number, stopped: boolean): string =>
  `${plural(mark.lines, 'line')} done, ${rejected.toLocaleString('en-US')} rejected${stopped ? `, stopped at line ${mark.resumeLine}` : ''}`;

const importFile = async (ctx: CommandContext, file: string, o: ImportOptions): Promise<number> => {
  const { tenant, out } = ctx;
  const info = await stat(file).catch((e: unknown) => {
    throw new CliError(`cannot read ${describeError(e)}`);
  });
  if (!info.isFile()) throw new CliError(`cannot read ${file}: not a regular file`);
  const format = o.format ?? (extname(file).toLowerCase() === '.csv' ? 'csv' : 'ndjson');
  const withId = await lineIds(file, info);
  if (o.url !== undefined) return importRemote(ctx, file, format, info.size, o, o.url, withId);
  const arrival = await lineArrivals(file, info);
  const session = await ctx.session();
  const source = session.sourceOf(tenant, o.source);
  const input = createReadStream(file);
  const records = format === 'csv' ? csvRecords(input, file) : ndjsonRecords(input);

  const counts = { lines: 0, accepted: 0, duplicate: 0, rejected: 0 };
  const rejected: RejectedLine[] = [];
  const reject = (line: number, reason: QuarantineReason, quarantineId: string, replayable: boolean, notReplayable?: string) => {
    counts.rejected++;
    if (rejected.length < REPORT_LIMIT)
      rejected.push({
        line,
        code: reason.code,
        fields: reason.issues.map((i) => i.path),
        message: reason.message,
        issues: reason.issues,
        quarantineId,
        replayable,
        ...(notReplayable === undefined ? {} : { notReplayable }),
      });
  };
  const mark = new DoneMark();
  /** the store failure at the first line that met one */
  let failure: { line: number; error: unknown } | undefined;
  const one = async (record: ImportRecord, done: () => void): Promise<void> => {
    try {
      if ('unreadable' in record)
        reject(
          record.line,
          record.reason,
          await session.core.quarantine.hold(tenant, o.source, record.unreadable, record.reason, undefined, 'record', `import-${arrival(record.line)}`),
          false,
        );
      else {
        // the line's arrival as its position: a refused line imported again is the same quarantine entry
        const outcome: IngestOutcome = await session.core.ingest.ingest(
          tenant,
          source,
          withId(record.line, record.call),
          undefined,
          `import-${arrival(record.line)}`,
        );
        if (outcome.status === 'accepted' || outcome.status === 'duplicate') counts[outcome.status]++;
        else if (outcome.status === 'quarantined')
          reject(record.line, outcome.error, outcome.quarantineId, outcome.notReplayable === undefined, outcome.notReplayable);
      }
      done();
    } catch (e) {
      // the store itself failed: stop taking lines (calls are idempotent: a re-run carries on)
      if (!failure || record.line < failure.line) failure = { line: record.line, error: e };
    }
  };

  const started = Date.now();
  const progress = startProgress(ctx.deps.io, { label: `import ${file}`, total: info.size || undefined });
  const detail = () => progressDetail(mark, counts.rejected, false);
  // Ctrl-C: no new line is taken; the calls in flight finish
  let interrupted = false;
  const unsubscribe = ctx.deps.onInterrupt?.(() => {
    interrupted = true;
    progress.interrupt();
  });
  const inFlight = new Set<Promise<void>>();
  /** every line of the file was taken (not stopped by Ctrl-C, a store failure or an unreadable file) */
  let readAll = false;
  try {
    let stoppedEarly = false;
    for await (const record of records) {
      if (interrupted || failure) {
        stoppedEarly = true;
        break;
      }
      counts.lines++;
      // one() settles, never rejects: a store failure is kept in `failure`
      const p = one(record, mark.read(record)).finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= o.concurrency) await Promise.race(inFlight);
      progress.update(mark.bytes, detail);
    }
    readAll = !stoppedEarly;
  } finally {
    await Promise.all(inFlight);
    unsubscribe?.();
    input.destroy();
    const stopped = !readAll || failure !== undefined;
    progress.update(mark.bytes, detail);
    progress.stop(progressDetail(mark, counts.rejected, stopped), stopped);
  }
  if (failure)
    throw new CliError(
      `${file}: stopped at line ${mark.resumeLine}: ${describeError(failure.error)}; the lines before it are imported, and importing the file again skips the calls already stored`,
    );
  await session.drainBackground();
  rejected.sort((a, b) => a.line - b.line);

  const elapsedMs = Date.now() - started;
  const stoppedAt = readAll ? undefined : mark.resumeLine;
  out.result({
    tenant,
    file,
    format,
    source: o.source,
    ...counts,
    ...(stoppedAt === undefined ? {} : { interrupted: true, stoppedAtLine: stoppedAt }),
    rejectedLines: rejected,
    rejectedListed: rejected.length,
    elapsedMs,
  });
  if (stoppedAt !== undefined)
    // stderr: the result on stdout stays one document under --json
    ctx.deps.io.stderr.write(
      `interrupted: stopped at line ${stoppedAt} of ${file}: the ${plural(mark.lines, 'line')} before it are imported and kept.\n` +
        '  to carry on, run the same command again: the calls already stored are skipped as duplicates\n',
    );
  out.line(`${stoppedAt === undefined ? 'imported' : 'partly imported'} ${file} (${format}) into tenant "${tenant}" in ${(elapsedMs / 1000).toFixed(1)} s`);
  out.line(
    `  ${plural(counts.lines, 'line')}: ${counts.accepted.toLocaleString('en-US')} accepted, ${plural(counts.duplicate, 'duplicate')}, ${counts.rejected.toLocaleString('en-US')} rejected (quarantined)`,
  );
  if (stoppedAt !== undefined) out.line(`  stopped at line ${stoppedAt} (interrupted): the rest of the file is not imported`);
  if (rejected.length)
    out.line(
      rejected.some((r) => !r.replayable)
        ? 'rejected lines (a refused call: c360 quarantine replay <id> after a fix; a line that is not a call or cannot be replayed: correct it in the file and import again):'
        : 'rejected lines (c360 quarantine replay <id> after a fix):',
    );
  for (const r of rejected)
    out.line(
      `  line ${r.line}: ${r.code}${r.fields.length ? ` at ${r.fields.join(', ')}` : ''} -> quarantine ${r.quarantineId}${r.replayable ? '' : r.notReplayable ? ` (not replayable: ${r.notReplayable})` : ' (not a call)'}`,
    );
  if (counts.rejected > rejected.length) out.line(`  ... and ${plural(counts.rejected - rejected.length, 'more line')} (c360 quarantine list)`);
  if (stoppedAt !== undefined) return EXIT.interrupted;
  return o.strict && counts.rejected > 0 ? 1 : 0;
};

/** under the API's 500 KB per batch, with room for the envelope */
const MAX_BATCH_BYTES = 450 * 1024;

/** `import --url`: the file's calls as Segment batches to a running server, in file order. */
const importRemote = async (
  ctx: CommandContext,
  file: string,
  format: string,
  size: number,
  o: ImportOptions,
  url: string,
  withId: (line: number, call: unknown) => unknown,
): Promise<number> => {
  const { out } = ctx;
  const writeKey = o.writeKey ?? ctx.deps.writeKey?.();
  if (!writeKey)
    throw new CliError(
      "--url needs a write key: pass --write-key, set C360_WRITE_KEY, or run with the server's data dir (C360_DATA_DIR) so that its secrets.json is read",
      EXIT.usage,
    );
  const target = remoteTarget(url, writeKey);
  const input = createReadStream(file);
  const records = format === 'csv' ? csvRecords(input, file) : ndjsonRecords(input);
  // rejected = refusedByServer (sent, kept in the server's quarantine) + notSent (not a call, or out of bounds)
  const counts = { lines: 0, sent: 0, rejected: 0, refusedByServer: 0, notSent: 0 };
  const rejected: (Omit<RejectedLine, 'quarantineId' | 'replayable'> & { quarantineId?: string })[] = [];
  /** a line refused, by the server (kept in its quarantine) or here (not sent): counted, and listed in the report's first REPORT_LIMIT */
  const refuse = (
    line: number,
    by: 'server' | 'here',
    reason: { readonly code: string; readonly message: string; readonly issues: readonly FieldIssue[] },
    quarantineId?: string,
  ) => {
    counts.rejected++;
    if (by === 'server') counts.refusedByServer++;
    else counts.notSent++;
    if (rejected.length < REPORT_LIMIT)
      rejected.push({
        line,
        code: reason.code,
        fields: reason.issues.map((x) => x.path),
        message: reason.message,
        issues: reason.issues,
        ...(quarantineId ? { quarantineId } : {}),
      });
  };
  const mark = new DoneMark();
  const progress = startProgress(ctx.deps.io, { label: `import ${file}`, total: size || undefined });
  const detail = () => progressDetail(mark, counts.rejected, false);
  const started = Date.now();
  let batch: { line: number; call: unknown; done: () => void }[] = [];
  let bytes = 0;
  const flush = async () => {
    if (!batch.length) return;
    const sending = batch;
    [batch, bytes] = [[], 0];
    const invalid = await target.send(sending.map((b) => b.call)).catch((e: unknown) => {
      // the server names a call of the batch by its index: say which line of the file that is
      const why = describeError(e).replace(/batch\[(\d+)\]\.?([\w$.[\]-]*)/g, (at, i: string, field: string) => {
        const line = sending[Number(i)]?.line;
        return line === undefined ? at : field ? `${field} (line ${line})` : `line ${line}`;
      });
      throw new CliError(`${file}: stopped at line ${sending[0]!.line}: ${why}; lines before it are sent, and importing the file again skips them`);
    });
    counts.sent += sending.length;
    for (const b of sending) b.done();
    // the server's own words (a server from before it sent them: the code)
    for (const i of invalid) refuse(sending[i.index]!.line, 'server', { code: i.code, message: i.message ?? i.code, issues: i.issues ?? [] }, i.quarantineId);
  };
  const sendAlone = async (one: (typeof batch)[number], reason: QuarantineReason) => {
    const invalid = await target.send([one.call]).catch((e: unknown) => {
      throw new CliError(`${file}: stopped at line ${one.line}: ${describeError(e)}; lines before it are sent, and importing the file again skips them`);
    });
    counts.sent++;
    one.done();
    const refused = invalid[0];
    // the reason found here names the line's own fields (the server's names batch[0])
    if (refused)
      refuse(one.line, 'server', { code: refused.code, message: `line ${one.line}: ${reason.message}`, issues: reason.issues }, refused.quarantineId);
  };
  // Ctrl-C: no new line is taken and the batch not yet sent stays unsent; a batch on its way finishes
  let interrupted = false;
  const unsubscribe = ctx.deps.onInterrupt?.(() => {
    interrupted = true;
    progress.interrupt();
  });
  /** every line of the file was taken and sent (not stopped by Ctrl-C, a refused batch or an unreadable file) */
  let readAll = false;
  try {
    let stoppedEarly = false;
    for await (const record of records) {
      if (interrupted) {
        stoppedEarly = true;
        break;
      }
      counts.lines++;
      const done = mark.read(record);
      if ('unreadable' in record) {
        // not a call: nothing to send; the line is reported here instead of the server's quarantine
        refuse(record.line, 'here', record.reason);
        done();
        continue;
      }
      const call = withId(record.line, record.call);
      // out of the bounds every intake holds a call to (too deep, too large): not sent, as the server
      // would refuse it (a line too deep would have it refuse the whole batch, or overflow the stack here)
      const outOfBounds = callBoundsProblem(call);
      if (outOfBounds?.code === 'BODY_NOT_UTF8') {
        // a lone surrogate: the server would refuse a batch holding it as a body, whole (every
        // other call of it with it). Sent alone, after the batch before it (file order), so the
        // server keeps it in its quarantine by itself and the report names that entry by this line
        await flush();
        await sendAlone({ line: record.line, call, done }, outOfBounds);
        progress.update(mark.bytes, detail);
        continue;
      }
      if (outOfBounds) {
        refuse(record.line, 'here', outOfBounds);
        done();
        continue;
      }
      const n = JSON.stringify(call).length;
      if (batch.length >= MAX_BATCH_CALLS || (batch.length && bytes + n > MAX_BATCH_BYTES)) await flush();
      batch.push({ line: record.line, call, done });
      bytes += n;
      progress.update(mark.bytes, detail);
    }
    if (!stoppedEarly) await flush();
    readAll = !stoppedEarly;
  } finally {
    unsubscribe?.();
    input.destroy();
    progress.update(mark.bytes, detail);
    progress.stop(progressDetail(mark, counts.rejected, !readAll), !readAll);
  }
  rejected.sort((a, b) => a.line - b.line);
  const elapsedMs = Date.now() - started;
  const stoppedAt = readAll ? undefined : mark.resumeLine;
  out.result({
    url: target.url,
    file,
    format,
    ...counts,
    ...(stoppedAt === undefined ? {} : { interrupted: true, stoppedAtLine: stoppedAt }),
    rejectedLines: rejected,
    rejectedListed: rejected.length,
    elapsedMs,
  });
  if (stoppedAt !== undefined)
    ctx.deps.io.stderr.write(
      `interrupted: stopped at line ${stoppedAt} of ${file}: the ${plural(mark.lines, 'line')} before it are sent.\n` +
        '  to carry on, run the same command again: the server skips the calls it already stored as duplicates\n',
    );
  out.line(
    `${stoppedAt === undefined ? 'sent' : 'partly sent'} ${file} (${format}) to ${target.url} in ${(elapsedMs / 1000).toFixed(1)} s (the write key's tenant and source)`,
  );
  // each line counted once: sent (some of them refused by the server) or not sent
  out.line(
    `  ${plural(counts.lines, 'line')}: ${counts.sent.toLocaleString('en-US')} sent (${counts.refusedByServer.toLocaleString('en-US')} of them refused by the server, kept in its quarantine), ${counts.notSent.toLocaleString('en-US')} not sent (not a call, or out of bounds)${stoppedAt === undefined ? '' : `, ${(counts.lines - counts.sent - counts.notSent).toLocaleString('en-US')} not sent (interrupted)`}`,
  );
  if (stoppedAt !== undefined) out.line(`  stopped at line ${stoppedAt} (interrupted): the rest of the file is not sent`);
  if (rejected.length) out.line('rejected lines:');
  for (const r of rejected)
    out.line(
      `  line ${r.line}: ${r.code}${r.fields.length ? ` at ${r.fields.join(', ')}` : ''} ${r.quarantineId ? `-> quarantine ${r.quarantineId} on the server` : '(not sent)'}`,
    );
  if (counts.rejected > rejected.length) out.line(`  ... and ${plural(counts.rejected - rejected.length, 'more line')}`);
  if (stoppedAt !== undefined) return EXIT.interrupted;
  return o.strict && counts.rejected > 0 ? 1 : 0;
};
