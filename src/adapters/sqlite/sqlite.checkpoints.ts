import type { Checkpoints, ShardCheckpoint } from '../dynamodb/dynamodb.stream-checkpoints.js';
import type { SqliteDatabase } from './sqlite.database.js';

// How far each reader has got, by name, in the same file as the log: the log follower (a global
// position) and stream consumers such as the Kinesis ingest consumer (per shard). A checkpoint
// lost to a power cut (it is written without an fsync of its own) only means reading again what
// was already handled, which projection and idempotent ingest both skip.

export class SqliteCheckpoints {
  constructor(private readonly db: SqliteDatabase) {
    db.db.exec('CREATE TABLE IF NOT EXISTS checkpoints (name TEXT PRIMARY KEY, position TEXT NOT NULL) WITHOUT ROWID');
  }

  get(name: string): string | undefined {
    return (this.db.prepare('SELECT position FROM checkpoints WHERE name = ?').get(name) as { position: string } | undefined)?.position;
  }

  save(name: string, position: string): void {
    this.db.transaction(() => this.db.prepare('INSERT OR REPLACE INTO checkpoints (name, position) VALUES (?, ?)').run(name, position), {
      synchronous: 'NORMAL',
    });
  }
}

/** Per-shard checkpoints of a stream consumer (Kinesis), kept in the embedded file. */
export class SqliteShardCheckpoints implements Checkpoints {
  constructor(
    private readonly checkpoints: SqliteCheckpoints,
    /** lets several consumers of one stream keep their own places */
    private readonly consumer: string,
  ) {}

  async get(streamArn: string, shardId: string): Promise<ShardCheckpoint | undefined> {
    const saved = this.checkpoints.get(this.name(streamArn, shardId));
    return saved === undefined ? undefined : (JSON.parse(saved) as ShardCheckpoint);
  }

  async save(streamArn: string, shardId: string, checkpoint: ShardCheckpoint): Promise<void> {
    this.checkpoints.save(this.name(streamArn, shardId), JSON.stringify({ sequenceNumber: checkpoint.sequenceNumber, ended: checkpoint.ended }));
  }

  private name(streamArn: string, shardId: string): string {
    return `${this.consumer}|${streamArn}|${shardId}`;
  }
}
