/**
 * SNS: the identity change feed (merges, unmerges, erasures) and the engagement notifier.
 *
 * @module customer360-core/sns
 */

export { createSnsClient, SNS_RETRY, type SnsClientSource } from '../adapters/sns/sns.client.js';
export { IdentityFeedError, identityChangeMessage, SnsIdentityFeed, type SnsIdentityFeedOptions } from '../adapters/sns/sns.identity-feed.js';
export { notificationMessage, NotifierError, SnsNotifier, type SnsNotifierOptions } from '../adapters/sns/sns.notifier.js';
