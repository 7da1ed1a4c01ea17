import { AesGcmCipher } from '../../src/adapters/crypto/node-crypto.js';
import { MemoryEventStore } from '../../src/adapters/memory/memory.event-store.js';
import { MemoryKeyStore } from '../../src/adapters/memory/memory.key-store.js';
import { MemoryQuarantine } from '../../src/adapters/memory/memory.quarantine.js';
import { MemoryReadModelStore } from '../../src/adapters/memory/memory.read-model-store.js';
import { MemorySnapshotStore } from '../../src/adapters/memory/memory.snapshot-store.js';
import { eventStoreContract } from './event-store.contract.js';
import { keyStoreContract } from './key-store.contract.js';
import { quarantineContract } from './quarantine.contract.js';
import { readModelStoreContract } from './read-model-store.contract.js';
import { snapshotStoreContract } from './snapshot-store.contract.js';

eventStoreContract('memory', () => new MemoryEventStore());
readModelStoreContract('memory', () => new MemoryReadModelStore());
quarantineContract('memory', () => new MemoryQuarantine());
keyStoreContract('memory + AES-GCM', () => ({ keys: new MemoryKeyStore(), cipher: new AesGcmCipher() }));
snapshotStoreContract('memory', () => new MemorySnapshotStore());
