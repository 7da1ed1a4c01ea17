import { PublishCommand, type MessageAttributeValue, type PublishCommandInput } from '@aws-sdk/client-sns';
import type { Notification, Notifier } from '../../application/ports/notifier.port.js';
import { DomainError } from '../../domain/shared/errors.js';
import { resolveSnsClient, type SnsClientSource } from './sns.client.js';

// Engagement decisions on an SNS topic, one message per decision. The body is the notification's
// own fields (ids, channel, offer, time; built field by field, so no personal data can slip in);
// tenant, channel, offerId and decisionId are message attributes for subscription filter policies.
// On a FIFO topic the group is tenant + customer (a customer's offers stay in order) and the
// deduplication id is the decision id, so a republished decision is dropped by SNS itself.
// Transient failures (no answer, throttling, SNS's own faults) are tried again with full-jitter
// exponential backoff, a bounded number of times, on top of the SDK client's own retries; then
// publish throws a NotifierError and the outbox relay keeps the decision pending for later. The
// bounds are short on purpose (a publish may sit in the ingest path; the relay does the long wait).

export type SnsNotifierOptions = {
  readonly topicArn: string;
  /** publish tries for a transient failure, the first included; default 3 */
  readonly maxAttempts?: number | undefined;
  /** default 50 ms; the wait before try n is random below min(maxDelayMs, baseDelayMs * 2^(n-1)) */
  readonly baseDelayMs?: number | undefined;
  readonly maxDelayMs?: number | undefined;
  /** one try (the SDK's retries included) is abandoned after this long; default 2 s */
  readonly attemptTimeoutMs?: number | undefined;
  readonly sleep?: ((ms: number) => Promise<void>) | undefined;
};

export type NotifierErrorCode = 'NOTIFIER_UNAVAILABLE' | 'NOTIFIER_REJECTED' | 'NOTIFICATION_INVALID';

export class NotifierError extends Error {
  override readonly name = 'NotifierError';
  constructor(
    readonly code: NotifierErrorCode,
    message: string,
    readonly decisionId: string,
    /** publish tries made */
    readonly attempts: number,
    /** the notification field at fault (NOTIFICATION_INVALID) */
    readonly path: readonly string[] = [],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const TOPIC_ARN = /^arn:[^:]+:sns:[^:]+:[^:]+:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;
const THROTTLING = /throttl|toomanyrequests|requestlimitexceeded|slowdown/i;
// SNS refuses empty attribute values; FIFO ids allow 128 printable ASCII characters
const ATTRIBUTES = ['tenant', 'channel', 'offerId', 'decisionId'] as const;
const FIFO_ID = /^[\x21-\x7e]{1,128}$/;

/** The message body: the notification's fields and nothing else. */
export const notificationMessage = (n: Notification): string =>
  JSON.stringify({
    decisionId: n.decisionId,
    tenant: n.tenant,
    customerId: n.customerId,
    channel: n.channel,
    offerId: n.offerId,
    offerTitle: n.offerTitle,
    decidedAt: n.decidedAt,
  });

type SdkError = { name?: string; message?: string; $fault?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };

/** Worth another try: no answer at all (refused, reset, timed out), throttling, or SNS's own fault. */
const isTransient = (e: unknown): boolean => {
  const err = (e ?? {}) as SdkError;
  if (err.$retryable || THROTTLING.test(err.name ?? '') || err.$metadata?.httpStatusCode === 429) return true;
  return err.$fault !== 'client';
};

const summarize = (e: unknown): string => {
  const err = (e ?? {}) as SdkError & { code?: string };
  return [err.name, err.code].filter(Boolean).join(' ') + (err.message ? `: ${err.message}` : '');
};

const attribute = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });

export class SnsNotifier implements Notifier {
  private readonly fifo: boolean;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly attemptTimeoutMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly client: SnsClientSource,
    private readonly options: SnsNotifierOptions,
  ) {
    if (!TOPIC_ARN.test(options.topicArn)) {
      throw new DomainError(
        'CONFIG_INVALID',
        `C360_SNS_TOPIC_ARN must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>, FIFO names end in .fifo), got ${JSON.stringify(options.topicArn)}`,
        ['C360_SNS_TOPIC_ARN'],
      );
    }
    this.fifo = options.topicArn.endsWith('.fifo');
    this.maxAttempts = options.maxAttempts ?? 3;
    if (!(Number.isInteger(this.maxAttempts) && this.maxAttempts >= 1))
      throw new DomainError('CONFIG_INVALID', `maxAttempts must be a whole number of at least 1, got ${this.maxAttempts}`, ['maxAttempts']);
    this.baseDelayMs = options.baseDelayMs ?? 50;
    this.maxDelayMs = options.maxDelayMs ?? 1_000;
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 2_000;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  async publish(notification: Notification): Promise<void> {
    const input = this.input(notification);
    let last: unknown;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      if (attempt > 1) await this.sleep(Math.random() * Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1)));
      try {
        // a hung connection must not hold the relay forever: the try is abandoned (and may still
        // have been delivered, which at-least-once allows)
        await resolveSnsClient(this.client).send(new PublishCommand(input), { abortSignal: AbortSignal.timeout(this.attemptTimeoutMs) });
        return;
      } catch (e) {
        last = e;
        if (!isTransient(e)) {
          // a request SNS calls our fault (no such topic, no permission, bad parameter) fails the same way again
          throw new NotifierError(
            'NOTIFIER_REJECTED',
            `SNS refused decision ${notification.decisionId} for ${this.options.topicArn} (${summarize(e)}); check C360_SNS_TOPIC_ARN and the topic's permissions`,
            notification.decisionId,
            attempt,
            [],
            { cause: e },
          );
        }
      }
    }
    throw new NotifierError(
      'NOTIFIER_UNAVAILABLE',
      `SNS did not acknowledge decision ${notification.decisionId} for ${this.options.topicArn} after ${this.maxAttempts} attempts (${summarize(last)}); it stays pending and is published again later`,
      notification.decisionId,
      this.maxAttempts,
      [],
      { cause: last },
    );
  }

  private input(n: Notification): PublishCommandInput {
    for (const field of ATTRIBUTES) {
      if (typeof n[field] !== 'string' || n[field].length === 0)
        throw new NotifierError(
          'NOTIFICATION_INVALID',
          `notification ${field} must be a non-empty string (it is a message attribute)`,
          String(n.decisionId),
          0,
          [field],
        );
    }
    const group = `${n.tenant}:${n.customerId}`;
    if (this.fifo && !FIFO_ID.test(n.decisionId))
      throw new NotifierError(
        'NOTIFICATION_INVALID',
        'notification decisionId must be 1-128 printable ASCII characters to serve as the FIFO deduplication id',
        n.decisionId,
        0,
        ['decisionId'],
      );
    if (this.fifo && !FIFO_ID.test(group))
      throw new NotifierError(
        'NOTIFICATION_INVALID',
        'notification tenant and customerId must make a FIFO message group id of 1-128 printable ASCII characters',
        n.decisionId,
        0,
        ['customerId'],
      );
    return {
      TopicArn: this.options.topicArn,
      Message: notificationMessage(n),
      MessageAttributes: { tenant: attribute(n.tenant), channel: attribute(n.channel), offerId: attribute(n.offerId), decisionId: attribute(n.decisionId) },
      ...(this.fifo ? { MessageGroupId: group, MessageDeduplicationId: n.decisionId } : {}),
    };
  }
}
