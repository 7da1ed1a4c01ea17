import { randomBytes, randomUUID } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  PutItemCommand,
  ScanCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { noKeyToStandIn, standInFor, type DataKey, type KeyStore } from '../../application/ports/keys.port.js';
import type { Clock } from '../../application/ports/runtime.port.js';
import { DomainError } from '../../domain/shared/errors.js';
import { createDataKey, DATA_KEY_BYTES, destroyDataKey } from '../crypto/data-key.js';
import type { MasterKeyring, MasterKeyUse, WrappedKey } from '../crypto/master-key.js';
import { DYNAMO_TRANSACTION_BYTES, DYNAMO_TRANSACTION_ITEMS } from './dynamodb.commit-plan.js';
import { PointReads } from './dynamodb.point-reads.js';
import { sendGroup, type GroupIo, type GroupMember } from './dynamodb.transact-group.js';
import { GroupScheduler } from './dynamodb.write-groups.js';

// Data keys in their own table, one item per customer, wrapped by the keyring's master key:
//   live key   pk = T#<tenant>#K#<customerId>  tenant, customerId, keyId, masterKeyId, wrapped, createdAt
//   tombstone  same pk                          tenant, customerId, destroyed = true, destroyedAt
// A key's stand-ins (`<id>~<suffix>`, keys.port.ts) are listed on its item (standIns, a string set),
// added while it is live before a stand-in is created, and kept on its tombstone: a destroy reads
// them from the item it replaces (or, repeated, from the tombstone) and destroys each.
// A missing key or a tombstone reads as erased (get -> null). A key wrapped by a master key the
// keyring lacks, or one that no longer opens, throws a MasterKeyError naming the key: reading live
// data as erased would quietly hide it, and could let a replay recreate the customer.
//
// A /v1/batch creates many customers at once: the key reads of one turn are coalesced into
// BatchGetItem calls (dynamodb.point-reads.ts), and the creations of one turn go out as one
// TransactWriteItems of conditional puts (dynamodb.transact-group.ts), each answered as its own
// PutItem would be: written, or the item that was there first.
// One item is no data key: pk = $store#claim-secret, fingerprint, recordedAt (see claim-secret.ts).

export type DynamoDbKeyStoreOptions = {
  readonly tableName: string;
  readonly keyring: MasterKeyring;
  readonly clock?: Clock | undefined;
  /** unwrapped keys kept in memory (LRU); default 10,000 */
  readonly cacheSize?: number | undefined;
  /** bounds how long a destroy by another process leaves this one's cached key usable; default 5 min */
  readonly cacheMaxAgeMs?: number | undefined;
  /** reads and creations of one turn go together (default); false: each its own request */
  readonly grouping?: false | { readonly windowMs?: number | undefined } | undefined;
};

export type RewrapReport = {
  /** keys moved to the current master key */
  readonly rewrapped: number;
  /** keys destroyed or re-wrapped by someone else while this run worked on them */
  readonly skipped: number;
};

type Item = Record<string, AttributeValue>;
/** a creation waiting for its group; it answers the item that was there first, or undefined once written */
type Creation = GroupMember<Item | undefined> & { readonly pk: string; readonly item: Item };

const S = (v: string) => ({ S: v });
const N = (v: number) => ({ N: String(v) });
/** the one item that is no data key: the claim secret's fingerprint (claim-secret.ts); no tenant's pk begins with `$` */
const CLAIM_SECRET_PK = '$store#claim-secret';
export const keyPk = (tenant: string, customerId: string): string => `T#${tenant}#K#${customerId}`;
/** the AAD of the wrap: a key copied onto another customer's item does not open */
const wrapContext = (tenant: string, customerId: string): string => `c360-data-key/${encodeURIComponent(tenant)}/${encodeURIComponent(customerId)}`;

const notActive = (customerId: string): DomainError =>
  new DomainError('CUSTOMER_NOT_ACTIVE', `customer ${customerId} was erased; its data key cannot be recreated`, ['customerId'], { customerId });

class KeyCache {
  private readonly entries = new Map<string, { readonly key: DataKey; readonly at: number }>();

  constructor(
    private readonly size: number,
    private readonly maxAgeMs: number,
  ) {}

  get(pk: string, now: number): DataKey | undefined {
    const entry = this.entries.get(pk);
    if (!entry) return undefined;
    this.entries.delete(pk);
    if (now - entry.at > this.maxAgeMs) return undefined;
    this.entries.set(pk, entry); // most recently used goes last
    return entry.key;
  }

  set(pk: string, key: DataKey, now: number): void {
    this.entries.delete(pk);
    this.entries.set(pk, { key, at: now });
    // eviction only drops the reference: a caller may still be using the key
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.size) break;
      this.entries.delete(oldest);
    }
  }

  take(pk: string): DataKey | undefined {
    const entry = this.entries.get(pk);
    this.entries.delete(pk);
    return entry?.key;
  }
}

export class DynamoDbKeyStore implements KeyStore {
  private readonly table: string;
  private readonly keyring: MasterKeyring;
  private readonly clock: Clock;
  private readonly cache: KeyCache;
  private readonly creating = new Map<string, Promise<DataKey>>();
  /** bumped by every destroy: a read that overlapped one must not cache what it read */
  private destroys = 0;
  private readonly reads: PointReads;
  /** undefined: grouping is off */
  private readonly creations: GroupScheduler<Creation> | undefined;

  constructor(
    private readonly client: DynamoDBClient,
    options: DynamoDbKeyStoreOptions,
  ) {
    this.table = options.tableName;
    this.keyring = options.keyring;
    this.clock = options.clock ?? { now: () => Date.now() };
    this.cache = new KeyCache(options.cacheSize ?? 10_000, options.cacheMaxAgeMs ?? 300_000);
    const grouping = options.grouping === false ? undefined : { windowMs: options.grouping?.windowMs ?? 2 };
    this.reads = new PointReads(client, this.table, { windowMs: grouping?.windowMs, coalesce: grouping !== undefined });
    const io: GroupIo<Creation, Item | undefined> = {
      send: async (items, token) => void (await this.client.send(new TransactWriteItemsCommand({ TransactItems: [...items], ClientRequestToken: token }))),
      single: (c) => this.putAlone(c.pk, c.item),
      answer: (c, reasons) => this.winner(c.pk, reasons[0]?.Item),
      written: () => undefined,
      transientRetries: 5,
    };
    this.creations =
      grouping &&
      new GroupScheduler<Creation>((group) => sendGroup(group, io), { ...grouping, maxItems: DYNAMO_TRANSACTION_ITEMS, maxBytes: DYNAMO_TRANSACTION_BYTES });
  }

  async getOrCreate(tenant: string, customerId: string, options: { readonly fresh?: boolean } = {}): Promise<DataKey> {
    const pk = keyPk(tenant, customerId);
    const cached = this.cache.get(pk, this.clock.now());
    if (cached) return cached;
    // one creation per customer per process; other processes are handled by the conditional put
    let pending = this.creating.get(pk);
    if (!pending) {
      pending = this.loadOrCreate(tenant, customerId, pk, options.fresh === true).finally(() => this.creating.delete(pk));
      this.creating.set(pk, pending);
    }
    return pending;
  }

  async get(tenant: string, customerId: string): Promise<DataKey | null> {
    const pk = keyPk(tenant, customerId);
    const cached = this.cache.get(pk, this.clock.now());
    if (cached) return cached;
    const destroys = this.destroys;
    const item = await this.read(pk);
    const key = item ? await this.open(tenant, customerId, item) : null;
    if (key) this.remember(pk, key, destroys);
    return key;
  }

  async destroy(tenant: string, customerId: string): Promise<boolean> {
    const pk = keyPk(tenant, customerId);
    let live = false;
    let standIns: readonly string[] = [];
    try {
      // removing every key attribute removes the wrapped key; the tombstone blocks the id for good
      // and keeps the list of its stand-ins. The old item is never opened: a key wrapped by a
      // master key this keyring lacks goes all the same.
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: S(pk) },
          UpdateExpression:
            'SET #destroyed = :true, #destroyedAt = :now, #tenant = :tenant, #customerId = :customerId REMOVE #keyId, #master, #wrapped, #createdAt, #rewrappedAt',
          ConditionExpression: 'attribute_not_exists(#destroyed)',
          ExpressionAttributeNames: {
            '#destroyed': 'destroyed',
            '#destroyedAt': 'destroyedAt',
            '#tenant': 'tenant',
            '#customerId': 'customerId',
            '#keyId': 'keyId',
            '#master': 'masterKeyId',
            '#wrapped': 'wrapped',
            '#createdAt': 'createdAt',
            '#rewrappedAt': 'rewrappedAt',
          },
          ExpressionAttributeValues: { ':true': { BOOL: true }, ':now': N(this.clock.now()), ':tenant': S(tenant), ':customerId': S(customerId) },
          ReturnValues: 'ALL_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      live = out.Attributes?.wrapped !== undefined;
      standIns = out.Attributes?.standIns?.SS ?? [];
    } catch (e) {
      // destroyed before: the first destroyedAt stays; its stand-ins are destroyed again (a destroy
      // that died before them is finished by the next)
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
      standIns = e.Item?.standIns?.SS ?? [];
    }
    this.destroys++;
    // zeroing also disarms copies of the DataKey that callers may still hold
    const cached = this.cache.take(pk);
    if (cached) destroyDataKey(cached);
    for (const id of standIns) await this.destroy(tenant, id);
    return live;
  }

  async claimSecretFingerprint(): Promise<string | undefined> {
    return (await this.read(CLAIM_SECRET_PK))?.fingerprint?.S;
  }

  async recordClaimSecretFingerprint(fingerprint: string): Promise<string> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: { pk: S(CLAIM_SECRET_PK), fingerprint: S(fingerprint), recordedAt: N(this.clock.now()) },
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return fingerprint;
    } catch (e) {
      // recorded first by another process: its fingerprint stays
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
      const kept = e.Item?.fingerprint?.S ?? (await this.claimSecretFingerprint());
      if (kept === undefined) throw new Error(`key item ${CLAIM_SECRET_PK} holds no fingerprint`);
      return kept;
    }
  }

  /**
   * Moves every live data key (of one tenant, or all) to the keyring's current master key, a page
   * at a time. Idempotent, and safe under traffic: each item is updated only if its wrap is still
   * the one read. Run it once every process has the new keyring (new key current, old ones kept);
   * drop the old master key only after a run that ends without error.
   */
  async rewrap(options: { readonly tenant?: string | undefined; readonly pageSize?: number | undefined } = {}): Promise<RewrapReport> {
    const current = this.keyring.current.id;
    const tenantFilter = options.tenant === undefined ? '' : ' AND #tenant = :tenant';
    let rewrapped = 0;
    let skipped = 0;
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.table,
          Limit: options.pageSize ?? 100,
          ExclusiveStartKey: startKey,
          ConsistentRead: true,
          FilterExpression: `attribute_exists(#wrapped) AND #master <> :current${tenantFilter}`,
          ExpressionAttributeNames: { '#wrapped': 'wrapped', '#master': 'masterKeyId', ...(options.tenant === undefined ? {} : { '#tenant': 'tenant' }) },
          ExpressionAttributeValues: { ':current': S(current), ...(options.tenant === undefined ? {} : { ':tenant': S(options.tenant) }) },
        }),
      );
      const moved = await Promise.all((page.Items ?? []).map((item) => this.rewrapItem(item)));
      rewrapped += moved.filter(Boolean).length;
      skipped += moved.filter((m) => !m).length;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return { rewrapped, skipped };
  }

  /**
   * The master keys a sample of the live data keys is wrapped by (one Scan page of `sample` items,
   * eventually consistent, only masterKeyId read), and which of them the keyring lacks. A sample,
   * not the whole table: a start pays one request, not a scan of every customer's key.
   */
  async masterKeyUse(options: { readonly sample?: number | undefined } = {}): Promise<MasterKeyUse> {
    const page = await this.client.send(
      new ScanCommand({
        TableName: this.table,
        Limit: options.sample ?? 100,
        ProjectionExpression: '#master',
        FilterExpression: 'attribute_exists(#master)',
        ExpressionAttributeNames: { '#master': 'masterKeyId' },
      }),
    );
    const ids = new Set<string>();
    for (const item of page.Items ?? []) if (item.masterKeyId?.S) ids.add(item.masterKeyId.S);
    const inUse = [...ids].sort();
    return { inUse, unknown: inUse.filter((id) => !this.keyring.has(id)), keyring: this.keyring.ids, complete: page.LastEvaluatedKey === undefined };
  }

  private async rewrapItem(item: Item): Promise<boolean> {
    const { tenant, customerId, masterKeyId, wrapped } = liveFields(item);
    const context = wrapContext(tenant, customerId);
    const material = await this.keyring.unwrap({ masterKeyId, wrapped }, context);
    let next: WrappedKey;
    try {
      next = await this.keyring.wrap(material, context);
    } finally {
      material.fill(0);
    }
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: S(keyPk(tenant, customerId)) },
          UpdateExpression: 'SET #wrapped = :new, #master = :master, #at = :now',
          ConditionExpression: '#wrapped = :old',
          ExpressionAttributeNames: { '#wrapped': 'wrapped', '#master': 'masterKeyId', '#at': 'rewrappedAt' },
          ExpressionAttributeValues: { ':new': S(next.wrapped), ':master': S(next.masterKeyId), ':now': N(this.clock.now()), ':old': S(wrapped) },
        }),
      );
      return true;
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return false;
      throw e;
    }
  }

  /** `fresh`: skip the read, the conditional put alone finds a key that exists anyway */
  private async loadOrCreate(tenant: string, customerId: string, pk: string, fresh: boolean): Promise<DataKey> {
    const destroys = this.destroys;
    const item = fresh ? undefined : await this.read(pk);
    const base = standInFor(customerId);
    // a stand-in about to be created is listed first; one that exists is listed again (idempotent),
    // in case it was made before stand-ins were listed: a destroy of its key then finds it too
    if (base !== undefined && item?.destroyed?.BOOL !== true) {
      try {
        await this.listStandIn(tenant, base, customerId);
      } catch (e) {
        // such an unlisted stand-in whose key was destroyed since goes now, as that destroy would have taken it
        if (item && e instanceof DomainError && e.code === 'CUSTOMER_NOT_ACTIVE') await this.destroy(tenant, customerId);
        throw e;
      }
    }
    const key = item ? await this.open(tenant, customerId, item) : await this.create(tenant, customerId, pk);
    if (!key) throw notActive(customerId);
    this.remember(pk, key, destroys);
    return key;
  }

  /**
   * Lists a stand-in on the item of the key it stands in for, before the stand-in is created, while
   * that key is live: a destroy of it then finds the stand-in (and destroys it, created or not), and
   * one that came first makes this refuse.
   */
  private async listStandIn(tenant: string, base: string, customerId: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: S(keyPk(tenant, base)) },
          UpdateExpression: 'ADD #standIns :id',
          ConditionExpression: 'attribute_exists(#wrapped)',
          ExpressionAttributeNames: { '#standIns': 'standIns', '#wrapped': 'wrapped' },
          ExpressionAttributeValues: { ':id': { SS: [customerId] } },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
      throw e.Item?.destroyed?.BOOL === true ? notActive(customerId) : noKeyToStandIn(customerId, base);
    }
  }

  /** Puts a new wrapped key unless the id has an item already, in which case that item wins. */
  private async create(tenant: string, customerId: string, pk: string): Promise<DataKey | null> {
    const material = randomBytes(DATA_KEY_BYTES);
    try {
      const keyId = randomUUID();
      const { masterKeyId, wrapped } = await this.keyring.wrap(material, wrapContext(tenant, customerId));
      const item = {
        pk: S(pk),
        tenant: S(tenant),
        customerId: S(customerId),
        keyId: S(keyId),
        masterKeyId: S(masterKeyId),
        wrapped: S(wrapped),
        createdAt: N(this.clock.now()),
      };
      // another process created (or destroyed) the key first: theirs is the key
      const winner = await this.put(pk, item);
      return winner ? this.open(tenant, customerId, winner) : createDataKey(keyId, material);
    } finally {
      material.fill(0); // createDataKey keeps its own copy
    }
  }

  /** The conditional put of a new key item, with the turn's other creations when grouping: undefined once written, else the item that was there. */
  private put(pk: string, item: Item): Promise<Item | undefined> {
    const creations = this.creations;
    if (!creations) return this.putAlone(pk, item);
    const put = { TableName: this.table, Item: item, ConditionExpression: 'attribute_not_exists(pk)', ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const };
    const bytes = Buffer.byteLength(JSON.stringify(item)); // more than DynamoDB counts: names and values only
    return new Promise((resolve, reject) =>
      creations.submit({
        pk,
        item,
        items: [{ Put: put }],
        identity: `${pk}\n${item.keyId!.S}`,
        touched: [pk],
        size: 1,
        bytes,
        solo: false,
        resolve,
        reject,
      }),
    );
  }

  private async putAlone(pk: string, item: Item): Promise<Item | undefined> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return undefined;
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
      return this.winner(pk, e.Item);
    }
  }

  private async winner(pk: string, old: Item | undefined): Promise<Item> {
    const winner = old ?? (await this.read(pk));
    if (!winner) throw new Error(`key item ${pk} existed at the conditional put but cannot be read`);
    return winner;
  }

  /** The live key of an item, or null for a tombstone. */
  private async open(tenant: string, customerId: string, item: Item): Promise<DataKey | null> {
    if (item.destroyed?.BOOL === true) return null;
    const { masterKeyId, wrapped, keyId } = liveFields(item);
    const material = await this.keyring.unwrap({ masterKeyId, wrapped }, wrapContext(tenant, customerId));
    try {
      return createDataKey(keyId, material);
    } finally {
      material.fill(0); // createDataKey keeps its own copy
    }
  }

  private remember(pk: string, key: DataKey, destroysBefore: number): void {
    if (this.destroys === destroysBefore) this.cache.set(pk, key, this.clock.now());
  }

  private async read(pk: string): Promise<Item | undefined> {
    const [item] = await this.reads.read([{ pk: S(pk) }]);
    return item;
  }
}

const liveFields = (item: Item) => {
  const [tenant, customerId, keyId, masterKeyId, wrapped] = ['tenant', 'customerId', 'keyId', 'masterKeyId', 'wrapped'].map((name) => item[name]?.S);
  if (tenant === undefined || customerId === undefined || keyId === undefined || masterKeyId === undefined || wrapped === undefined) {
    throw new Error(`key item ${item.pk?.S} is neither a wrapped key nor a tombstone`);
  }
  return { tenant, customerId, keyId, masterKeyId, wrapped };
};
