import type { EventStoreDBClient } from '@eventstore/db-client';
import type { IdempotencyRecord, StoredEvent } from '../../application/ports/event-store.port.js';
import type { CommitRecords } from './eventstoredb.commit-records.js';
import type { Deadline } from './eventstoredb.deadline.js';
import { readWhole, type Read } from './eventstoredb.streams.js';

// What a stream means once events of undecided or aborted commits are set aside. Readers skip
// undecided commits (they have not happened yet); writers settle them first (wait, or abort a
// crashed writer's), because appending behind an undecided commit would make its outcome matter.

export type Loaded = {
  /** the server's last revision, counting hidden events: the expected revision of the next append */
  readonly last: bigint | undefined;
  readonly visible: readonly Read[];
};

export class StateReader {
  constructor(
    private readonly client: EventStoreDBClient,
    private readonly commits: CommitRecords,
  ) {}

  async load(tenant: string, stream: string, settle: boolean, d: Deadline): Promise<Loaded> {
    const events = await readWhole(this.client, stream, d);
    const visible: Read[] = [];
    for (const e of events) if (await this.isVisible(tenant, e, settle, d)) visible.push(e);
    return { last: events.length > 0 ? events[events.length - 1]!.revision : undefined, visible };
  }

  async isVisible(tenant: string, e: Read, settle: boolean, d: Deadline): Promise<boolean> {
    const commit = e.meta.commit;
    if (commit === undefined) return true;
    const status = settle ? await this.commits.settle(tenant, commit, d) : await this.commits.status(tenant, commit, d);
    return status === 'committed';
  }
}

export const customerEvents = (loaded: Loaded): StoredEvent[] => loaded.visible.map((e) => e.data as unknown as StoredEvent);

/** The owner a claim stream ends with: taken and transferred name one, released frees the key. */
export const claimOwner = (loaded: Loaded): string | undefined => {
  const last = loaded.visible[loaded.visible.length - 1];
  return last && last.type !== 'ClaimReleased' ? (last.data.owner as string) : undefined;
};

export const idempotencyRecord = (loaded: Loaded): IdempotencyRecord | undefined => {
  const last = loaded.visible[loaded.visible.length - 1];
  return last?.data as IdempotencyRecord | undefined;
};
