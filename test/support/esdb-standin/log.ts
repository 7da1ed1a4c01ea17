// The stand-in's storage: one global log ($all) and per-stream indexes, with EventStoreDB's
// expected-revision, soft-delete and tombstone rules. Pure data, no gRPC, so the rules read plainly.

export type Expected = { readonly kind: 'any' | 'no_stream' | 'stream_exists' } | { readonly kind: 'revision'; readonly revision: bigint };

export type Proposed = { readonly id: string; readonly metadata: ReadonlyMap<string, string>; readonly data: Uint8Array; readonly custom: Uint8Array };

export type Recorded = Proposed & {
  readonly stream: string;
  readonly revision: bigint;
  /** commit and prepare positions are equal: one event per log record, as a plain append writes */
  readonly position: bigint;
  /** .NET ticks (100 ns) since the Unix epoch, as the server stamps `created` */
  readonly created: bigint;
};

type Stream = { events: Recorded[]; truncateBefore: number; tombstoned: boolean };

export type Outcome =
  | { readonly ok: true; readonly revision: bigint; readonly position: bigint }
  | { readonly ok: false; readonly reason: 'wrong_expected_version'; readonly current: bigint | undefined }
  | { readonly ok: false; readonly reason: 'stream_deleted' }
  | { readonly ok: false; readonly reason: 'too_large'; readonly max: number };

/** EventStoreDB's stream revision for "deleted": long.MaxValue. */
export const DELETED_REVISION = 9_223_372_036_854_775_807n;

export class StandInLog {
  readonly all: Recorded[] = [];
  private readonly streams = new Map<string, Stream>();
  private nextPosition = 0n;

  constructor(readonly maxAppendSize = 1_048_576) {}

  /** current revision: undefined when the stream has never been written (soft-deleted streams keep theirs) */
  current(name: string): bigint | undefined {
    const s = this.streams.get(name);
    return s && s.events.length > 0 ? BigInt(s.events.length - 1) : undefined;
  }

  isTombstoned(name: string): boolean {
    return this.streams.get(name)?.tombstoned ?? false;
  }

  /** visible events: undefined means "stream not found" (never written, or soft-deleted and not rewritten) */
  visible(name: string): readonly Recorded[] | undefined {
    const s = this.streams.get(name);
    if (!s || s.events.length <= s.truncateBefore) return undefined;
    return s.events.slice(s.truncateBefore);
  }

  append(name: string, expected: Expected, proposed: readonly Proposed[]): Outcome {
    if (this.isTombstoned(name)) return { ok: false, reason: 'stream_deleted' };
    const size = proposed.reduce((n, p) => n + p.data.length + p.custom.length, 0);
    if (size > this.maxAppendSize) return { ok: false, reason: 'too_large', max: this.maxAppendSize };
    const current = this.current(name);
    const s = this.streams.get(name);
    // the server's idempotent write: the same ids at the same expected revision succeed again unchanged
    if (expected.kind === 'revision' || expected.kind === 'no_stream') {
      const from = expected.kind === 'revision' ? Number(expected.revision) + 1 : 0;
      const already = s?.events.slice(from, from + proposed.length);
      if (already && already.length === proposed.length && proposed.length > 0 && already.every((e, i) => e.id === proposed[i]!.id)) {
        const last = already[already.length - 1]!;
        return { ok: true, revision: last.revision, position: last.position };
      }
    }
    if (!matches(expected, current)) return { ok: false, reason: 'wrong_expected_version', current };
    return this.write(name, proposed);
  }

  /** soft delete: the stream reads as not found until written again; its revisions continue */
  softDelete(name: string, expected: Expected): Outcome {
    if (this.isTombstoned(name)) return { ok: false, reason: 'stream_deleted' };
    const current = this.current(name);
    if (!matches(expected, current)) return { ok: false, reason: 'wrong_expected_version', current };
    const s = this.stream(name);
    s.truncateBefore = s.events.length;
    const meta = JSON.stringify({ $tb: Number.MAX_SAFE_INTEGER });
    return this.write(`$$${name}`, [systemEvent('$metadata', meta)]);
  }

  tombstone(name: string, expected: Expected): Outcome {
    if (this.isTombstoned(name)) return { ok: false, reason: 'stream_deleted' };
    const current = this.current(name);
    if (!matches(expected, current)) return { ok: false, reason: 'wrong_expected_version', current };
    this.stream(name).tombstoned = true;
    const record = this.record(name, DELETED_REVISION, systemEvent('$streamDeleted', ''));
    this.all.push(record);
    return { ok: true, revision: DELETED_REVISION, position: record.position };
  }

  private write(name: string, proposed: readonly Proposed[]): Outcome {
    const s = this.stream(name);
    let last: Recorded | undefined;
    for (const p of proposed) {
      last = this.record(name, BigInt(s.events.length), p);
      s.events.push(last);
      this.all.push(last);
    }
    // an empty append to a stream that exists succeeds without writing, as the server's does
    return { ok: true, revision: this.current(name) ?? -1n, position: last?.position ?? this.nextPosition };
  }

  private record(stream: string, revision: bigint, p: Proposed): Recorded {
    this.nextPosition += 1n + BigInt(p.data.length);
    return { ...p, stream, revision, position: this.nextPosition, created: BigInt(Date.now()) * 10_000n };
  }

  private stream(name: string): Stream {
    let s = this.streams.get(name);
    if (!s) this.streams.set(name, (s = { events: [], truncateBefore: 0, tombstoned: false }));
    return s;
  }
}

const matches = (expected: Expected, current: bigint | undefined): boolean => {
  switch (expected.kind) {
    case 'any':
      return true;
    case 'no_stream':
      return current === undefined;
    case 'stream_exists':
      return current !== undefined;
    case 'revision':
      return current === expected.revision;
  }
};

const systemEvent = (type: string, json: string): Proposed => ({
  id: crypto.randomUUID(),
  metadata: new Map([
    ['type', type],
    ['content-type', 'application/json'],
  ]),
  data: new TextEncoder().encode(json),
  custom: new Uint8Array(),
});
