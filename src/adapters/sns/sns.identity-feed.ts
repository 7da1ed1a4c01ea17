import { PublishBatchCommand, type BatchResultErrorEntry, type MessageAttributeValue, type PublishBatchRequestEntry } from '@aws-sdk/client-sns';
import type { IdentityChange, IdentityFeed } from '../../application/ports/identity-feed.port.js';
import { resolveSnsClient, type SnsClientSource } from './sns.client.js';

// The identity change feed on an SNS topic. Each change is one message: its JSON (ids, type, time;
// built field by field, so nothing else can slip in) with message attributes tenant, type and
// changeId for subscription filter policies. On a FIFO topic the group is the tenant (order per
// tenant) and the deduplication id the change id. PublishBatch takes 10 entries at a time; entries
// SNS failed on its side are retried with backoff, a bounded number of times, and then publish
// throws: the caller's at-least-once redelivery (the projection) takes over, and subscribers drop
// repeats by change id.

export type SnsIdentityFeedOptions = {
  readonly topicArn: string;
  /** tries per entry SNS failed on its side, the first included; default 5 */
  readonly maxAttempts?: number | undefined;
  readonly baseDelayMs?: number | undefined;
  readonly maxDelayMs?: number | undefined;
  readonly sleep?: ((ms: number) => Promise<void>) | undefined;
};

export type IdentityFeedErrorCode = 'IDENTITY_FEED_UNAVAILABLE' | 'IDENTITY_FEED_REJECTED';

export class IdentityFeedError extends Error {
  override readonly name = 'IdentityFeedError';
  constructor(
    readonly code: IdentityFeedErrorCode,
    message: string,
    /** the change ids not published, with SNS's code for each */
    readonly failed: readonly { readonly id: string; readonly code: string }[],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const BATCH = 10;

/** The message body: the change's own fields and nothing else. */
export const identityChangeMessage = (c: IdentityChange): string => {
  const base = { id: c.id, tenant: c.tenant, type: c.type, at: c.at };
  switch (c.type) {
    case 'merged':
      return JSON.stringify({ ...base, survivorId: c.survivorId, absorbedId: c.absorbedId, mergeId: c.mergeId });
    case 'unmerged':
      return JSON.stringify({ ...base, survivorId: c.survivorId, restoredId: c.restoredId, mergeId: c.mergeId });
    case 'erased':
      return JSON.stringify({ ...base, customerId: c.customerId, erasureId: c.erasureId });
  }
};

const attribute = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });

export class SnsIdentityFeed implements IdentityFeed {
  private readonly fifo: boolean;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly client: SnsClientSource,
    private readonly options: SnsIdentityFeedOptions,
  ) {
    if (!/^arn:[^:]+:sns:/.test(options.topicArn))
      throw new Error(`C360_IDENTITY_TOPIC_ARN must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>), got ${JSON.stringify(options.topicArn)}`);
    this.fifo = options.topicArn.endsWith('.fifo');
    this.maxAttempts = options.maxAttempts ?? 5;
    if (!(this.maxAttempts >= 1)) throw new Error(`maxAttempts must be at least 1, got ${this.maxAttempts}`);
    this.baseDelayMs = options.baseDelayMs ?? 50;
    this.maxDelayMs = options.maxDelayMs ?? 2_000;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  async publish(changes: readonly IdentityChange[]): Promise<void> {
    // a change twice in one call is published once (a redelivered event, a repeated batch)
    const unique = [...new Map(changes.map((c) => [c.id, c])).values()];
    for (let i = 0; i < unique.length; i += BATCH) await this.publishBatch(unique.slice(i, i + BATCH));
  }

  private entry(change: IdentityChange, index: number): PublishBatchRequestEntry {
    return {
      Id: `c${index}`,
      Message: identityChangeMessage(change),
      MessageAttributes: { tenant: attribute(change.tenant), type: attribute(change.type), changeId: attribute(change.id) },
      ...(this.fifo ? { MessageGroupId: change.tenant, MessageDeduplicationId: change.id } : {}),
    };
  }

  private async publishBatch(changes: readonly IdentityChange[]): Promise<void> {
    let pending = new Map(changes.map((c, i) => [`c${i}`, { change: c, entry: this.entry(c, i) }]));
    let lastFailures: { id: string; code: string; senderFault: boolean }[] = [];
    for (let attempt = 1; attempt <= this.maxAttempts && pending.size > 0; attempt++) {
      if (attempt > 1) await this.sleep(Math.random() * Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1)));
      let failed: BatchResultErrorEntry[];
      try {
        // the SDK has already retried throttling and transport errors by the time this throws
        ({ Failed: failed = [] } = await resolveSnsClient(this.client).send(
          new PublishBatchCommand({ TopicArn: this.options.topicArn, PublishBatchRequestEntries: [...pending.values()].map((p) => p.entry) }),
        ));
      } catch (e) {
        const ids = [...pending.values()].map((p) => ({ id: p.change.id, code: (e as Error).name }));
        throw new IdentityFeedError(
          'IDENTITY_FEED_UNAVAILABLE',
          `publishing ${ids.length} identity changes to ${this.options.topicArn} failed: ${(e as Error).message}`,
          ids,
          { cause: e },
        );
      }
      lastFailures = failed.map((f) => ({
        id: pending.get(f.Id ?? '')?.change.id ?? String(f.Id),
        code: f.Code ?? 'Unknown',
        senderFault: f.SenderFault === true,
      }));
      const rejected = lastFailures.filter((f) => f.senderFault);
      if (rejected.length > 0) {
        // a request SNS calls our fault (bad parameter, no permission) fails the same way again
        throw new IdentityFeedError(
          'IDENTITY_FEED_REJECTED',
          `SNS refused ${rejected.length} identity changes for ${this.options.topicArn} (${[...new Set(rejected.map((f) => f.code))].join(', ')}); check the topic and its permissions`,
          rejected,
        );
      }
      const retry = new Set(failed.map((f) => f.Id));
      pending = new Map([...pending].filter(([id]) => retry.has(id)));
    }
    if (pending.size > 0) {
      throw new IdentityFeedError(
        'IDENTITY_FEED_UNAVAILABLE',
        `SNS did not accept ${pending.size} identity changes for ${this.options.topicArn} after ${this.maxAttempts} attempts (${[...new Set(lastFailures.map((f) => f.code))].join(', ')}); deliver them again`,
        lastFailures,
      );
    }
  }
}
