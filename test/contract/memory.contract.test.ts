import { AesGcmCipher } from '../../src/adapters/crypto/node-crypto.js';
import { MemoryCheckpoints } from '../../src/adapters/dynamodb/dynamodb.stream-checkpoints.js';
import { MemoryErasureLedger } from '../../src/adapters/memory/memory.erasure-ledger.js';
import { MemoryEventStore } from '../../src/adapters/memory/memory.event-store.js';
import { MemoryIdentityFeed } from '../../src/adapters/memory/memory.identity-feed.js';
import { MemoryKeyStore } from '../../src/adapters/memory/memory.key-store.js';
import { MemoryNotifier } from '../../src/adapters/memory/memory.notifier.js';
import { MemoryQuarantine } from '../../src/adapters/memory/memory.quarantine.js';
import { MemoryReadModelStore } from '../../src/adapters/memory/memory.read-model-store.js';
import { MemorySnapshotStore } from '../../src/adapters/memory/memory.snapshot-store.js';
import { checkpointsContract } from './checkpoints.contract.js';
import { ledgerContract } from './erasure-ledger.contract.js';
import { eventStoreContract } from './event-store.contract.js';
import { identityFeedContract } from './identity-feed.contract.js';
import { keyStoreContract } from './key-store.contract.js';
import { notifierContract } from './notifier.contract.js';
import { quarantineContract } from './quarantine.contract.js';
import { readModelStoreContract } from './read-model-store.contract.js';
import { snapshotStoreContract } from './snapshot-store.contract.js';

eventStoreContract('memory', () => new MemoryEventStore());
readModelStoreContract('memory', () => new MemoryReadModelStore());
quarantineContract('memory', () => new MemoryQuarantine());
keyStoreContract('memory + AES-GCM', () => ({ keys: new MemoryKeyStore(), cipher: new AesGcmCipher() }));
snapshotStoreContract('memory', () => new MemorySnapshotStore());
ledgerContract('memory', async () => new MemoryErasureLedger());
checkpointsContract('memory', { durable: false, namedConsumers: false }, () => ({ checkpoints: new MemoryCheckpoints() }));

// a subscriber in the process reads what was kept, in publish order, and drops repeats by id
notifierContract('memory', { dropsRepeats: false, ordersPerCustomer: true }, () => {
  const notifier = new MemoryNotifier();
  return {
    notifier,
    delivered: async () => notifier.published.map((n) => ({ body: n, dedupId: n.decisionId })),
    failing: () => {
      notifier.failNext();
      return notifier;
    },
  };
});
identityFeedContract('memory', { ordersPerTenant: true }, () => {
  const feed = new MemoryIdentityFeed();
  return {
    feed,
    delivered: async () => feed.published.map((c) => ({ body: c, dedupId: c.id })),
    failing: () => {
      feed.failNext();
      return feed;
    },
  };
});
