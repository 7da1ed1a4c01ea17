// The SNS client and its adapters, loaded by the container only when a topic is configured.
export { createSnsClient } from '../../adapters/sns/sns.client.js';
export { SnsIdentityFeed } from '../../adapters/sns/sns.identity-feed.js';
export { SnsNotifier } from '../../adapters/sns/sns.notifier.js';
