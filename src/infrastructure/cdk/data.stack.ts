import { RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { Workload } from './accounts.js';
import { BACKUP_RETENTION_DAYS, deployTables, tableNamesFor, type DeployedTable, type TableKind } from './tables.js';

// A workload's state: the tables (from the shared definitions), the customer-managed keys, and the
// secrets. Kept apart from the functions so that the service stack can be replaced freely while
// this one is protected (termination protection and retained resources in production).

export type DataStackProps = StackProps & { readonly workload: Workload; readonly prefix: string };

export class DataStack extends Stack {
  /** encrypts the tables, streams, queues, topics, logs and secrets of the stage; rotates yearly */
  readonly dataKey: Key;
  /** wraps the per-customer data keys (C360_KMS_KEY_ID); destroying a data key is crypto-shredding */
  readonly masterKey: Key;
  readonly tables: Record<TableKind, DeployedTable>;
  /** {"claimSecret", "consoleSessionKey"?}: C360_SECRET_ID */
  readonly coreSecret: Secret;
  /** the tenants' write keys and tokens ({"credentials": [...]}): C360_CREDENTIALS_SECRET_ID */
  readonly credentialsSecret: Secret;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, { ...props, terminationProtection: props.workload.production });
    const removalPolicy = props.workload.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    this.dataKey = new Key(this, 'DataKey', {
      alias: `alias/${props.prefix}-data`,
      description: 'Customer 360: tables, streams, queues, topics, logs and secrets',
      enableKeyRotation: true,
      removalPolicy,
    });
    // services that encrypt with it on our behalf, each limited to this account's resources
    for (const service of ['logs', 'cloudwatch', 'events']) {
      const principal = service === 'logs' ? new ServicePrincipal(`logs.${this.region}.amazonaws.com`) : new ServicePrincipal(`${service}.amazonaws.com`);
      this.dataKey.addToResourcePolicy(
        new PolicyStatement({
          principals: [principal],
          actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
        }),
      );
    }
    this.masterKey = new Key(this, 'MasterKey', {
      alias: `alias/${props.prefix}-master`,
      description: 'Customer 360: wraps the per-customer data keys (crypto-shredding)',
      enableKeyRotation: true,
      removalPolicy,
    });
    this.tables = deployTables(this, { prefix: props.prefix, key: this.dataKey, production: props.workload.production });
    this.coreSecret = new Secret(this, 'CoreSecret', {
      secretName: `${props.prefix}/core`,
      description: 'claimSecret (never rotated: claim keys are HMACs under it; `c360 rekey` changes it) and consoleSessionKey',
      encryptionKey: this.dataKey,
      generateSecretString: { secretStringTemplate: '{}', generateStringKey: 'claimSecret', passwordLength: 48, excludePunctuation: true },
      removalPolicy,
    });
    this.credentialsSecret = new Secret(this, 'CredentialsSecret', {
      secretName: `${props.prefix}/credentials`,
      description: 'the tenants\' write keys and tokens, {"credentials": [...]} as in C360_CREDENTIALS_FILE; rotated by writing a new version',
      encryptionKey: this.dataKey,
      removalPolicy,
    });
    Validations.of(this.coreSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'the claim secret must not rotate on a schedule: claim keys are HMACs under it, and changing it is a migration (c360 rekey)',
    });
    Validations.of(this.credentialsSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'tenants hold these keys, so a rotation Lambda cannot hand them new ones; operators rotate by writing a new version (old and new keys side by side), which the functions pick up within C360_SECRETS_MAX_AGE_SECONDS',
    });
  }
}

/**
 * What every function and job of a stage is told to find its store: the tables by name, the key
 * that wraps data keys and the secret, by id (never a secret's value), and how long backups keep
 * erased data (erasure receipts say when it is gone from them).
 */
export const storeEnvironment = (prefix: string, data: DataStack): Record<string, string> => {
  const names = tableNamesFor(prefix);
  return {
    C360_STORE: 'dynamodb',
    C360_CREATE_TABLES: 'false',
    C360_EVENTS_TABLE: names.events,
    C360_VIEWS_TABLE: names.views,
    C360_KEYS_TABLE: names.keys,
    C360_QUARANTINE_TABLE: names.quarantine,
    C360_AUDIT_TABLE: names.audit,
    C360_LEDGER_TABLE: names.ledger,
    C360_OUTBOX_TABLE: names.outbox,
    C360_KMS_KEY_ID: data.masterKey.keyArn,
    C360_SECRET_ID: data.coreSecret.secretArn,
    C360_BACKUP_RETENTION_DAYS: String(BACKUP_RETENTION_DAYS),
  };
};
