import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { CfnWorkGroup } from 'aws-cdk-lib/aws-athena';
import { CfnBudget } from 'aws-cdk-lib/aws-budgets';
import { Trail } from 'aws-cdk-lib/aws-cloudtrail';
import { AccountPrincipal, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership, StorageClass } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { LakeCatalog } from './lake.catalog.js';
import { BACKUP_RETENTION_DAYS } from './tables.js';

// The accounts around the workloads. The security account keeps the log archive: a bucket that
// the management account's organization trail writes to and nobody else can change. The
// management account holds the trail (an organization trail must be created there, or in a
// delegated administrator account) and the budget. The data account holds the lake and Athena.

const secureBucket = (
  scope: Construct,
  id: string,
  key: Key,
  props: { versioned: boolean; retain: boolean; logs?: Bucket | undefined; bucketName?: string | undefined },
) =>
  new Bucket(scope, id, {
    bucketName: props.bucketName,
    encryption: BucketEncryption.KMS,
    encryptionKey: key,
    bucketKeyEnabled: true,
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    versioned: props.versioned,
    objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
    serverAccessLogsBucket: props.logs,
    serverAccessLogsPrefix: props.logs ? `${id}/` : undefined,
    removalPolicy: props.retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
  });

/** A bucket for S3 server access logs (S3-managed keys: log delivery cannot write with a KMS key), kept `days`. */
export const accessLogsBucket = (scope: Construct, days: number, removalPolicy: RemovalPolicy): Bucket =>
  new Bucket(scope, 'AccessLogs', {
    encryption: BucketEncryption.S3_MANAGED,
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
    lifecycleRules: [{ expiration: Duration.days(days) }],
    removalPolicy,
  });

export type LogArchiveProps = StackProps & {
  readonly organizationId: string;
  readonly managementAccount: string;
  readonly trailName: string;
  readonly bucketName: string;
};

export class LogArchiveStack extends Stack {
  readonly bucket: Bucket;
  constructor(scope: Construct, id: string, props: LogArchiveProps) {
    super(scope, id, { ...props, terminationProtection: true });
    const key = new Key(this, 'LogKey', { alias: 'alias/c360-log-archive', enableKeyRotation: true, removalPolicy: RemovalPolicy.RETAIN });
    const trailArn = `arn:aws:cloudtrail:${this.region}:${props.managementAccount}:trail/${props.trailName}`;
    key.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudtrail.amazonaws.com')],
        actions: ['kms:GenerateDataKey*', 'kms:DescribeKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceArn': trailArn } },
      }),
    );
    const accessLogs = accessLogsBucket(this, 365, RemovalPolicy.RETAIN);
    this.bucket = secureBucket(this, 'LogArchive', key, { versioned: true, retain: true, logs: accessLogs, bucketName: props.bucketName });
    this.bucket.addLifecycleRule({
      transitions: [{ storageClass: StorageClass.GLACIER, transitionAfter: Duration.days(90) }],
      expiration: Duration.days(2555),
    });
    this.bucket.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudtrail.amazonaws.com')],
        actions: ['s3:GetBucketAcl'],
        resources: [this.bucket.bucketArn],
        conditions: { StringEquals: { 'aws:SourceArn': trailArn } },
      }),
    );
    this.bucket.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudtrail.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects(`AWSLogs/${props.managementAccount}/*`), this.bucket.arnForObjects(`AWSLogs/${props.organizationId}/*`)],
        conditions: { StringEquals: { 'aws:SourceArn': trailArn, 's3:x-amz-acl': 'bucket-owner-full-control' } },
      }),
    );
  }
}

export type ManagementProps = StackProps & {
  readonly trailName: string;
  readonly logArchiveBucketName: string;
  readonly logArchiveKeyArn?: string | undefined;
  readonly monthlyBudgetUsd: number;
  readonly alarmEmail?: string | undefined;
};

export class ManagementStack extends Stack {
  constructor(scope: Construct, id: string, props: ManagementProps) {
    super(scope, id, { ...props, terminationProtection: true });
    const archive = Bucket.fromBucketName(this, 'LogArchive', props.logArchiveBucketName);
    new Trail(this, 'OrganizationTrail', {
      trailName: props.trailName,
      bucket: archive,
      isOrganizationTrail: true,
      isMultiRegionTrail: true,
      includeGlobalServiceEvents: true,
      enableFileValidation: true,
    });
    new CfnBudget(this, 'MonthlyBudget', {
      budget: { budgetName: 'c360-monthly', budgetType: 'COST', timeUnit: 'MONTHLY', budgetLimit: { amount: props.monthlyBudgetUsd, unit: 'USD' } },
      notificationsWithSubscribers: props.alarmEmail
        ? [
            {
              notification: { notificationType: 'ACTUAL', comparisonOperator: 'GREATER_THAN', threshold: 80, thresholdType: 'PERCENTAGE' },
              subscribers: [{ subscriptionType: 'EMAIL', address: props.alarmEmail }],
            },
          ]
        : undefined,
    });
  }
}

/**
 * The lake (versioned: an overwritten or deleted Parquet file stays as a noncurrent version),
 * Athena's results, and the Glue catalogue Athena reads the lake through (lake.catalog.ts).
 * Noncurrent versions expire after 35 days, as point-in-time recovery does on the tables: 35 days
 * after an erasure, no backup anywhere still holds the erased data.
 */
export type LakeStackProps = StackProps & {
  readonly prefix: string;
  readonly bucketName?: string | undefined;
  /** roles in workload accounts that write the lake (their lake function) */
  readonly writers?: readonly { readonly account: string; readonly roleName: string }[] | undefined;
};

export class LakeStack extends Stack {
  readonly lake: Bucket;
  readonly results: Bucket;
  /** the Glue database and tables Athena reads the lake through */
  readonly catalog: LakeCatalog;
  constructor(scope: Construct, id: string, props: LakeStackProps) {
    super(scope, id, props);
    const key = new Key(this, 'LakeKey', { alias: `alias/${props.prefix}-lake`, enableKeyRotation: true, removalPolicy: RemovalPolicy.RETAIN });
    const accessLogs = accessLogsBucket(this, 90, RemovalPolicy.RETAIN);
    this.lake = secureBucket(this, 'Lake', key, { versioned: true, retain: true, logs: accessLogs, bucketName: props.bucketName });
    // the lake function of the workload that feeds the lake, in its own account: by account, with
    // its role's ARN as a condition (a policy may name a role before it exists that way)
    for (const w of props.writers ?? []) {
      const principal = new AccountPrincipal(w.account);
      const conditions = { ArnEquals: { 'aws:PrincipalArn': `arn:aws:iam::${w.account}:role/${w.roleName}` } };
      this.lake.addToResourcePolicy(
        new PolicyStatement({ principals: [principal], actions: ['s3:ListBucket', 's3:ListBucketVersions'], resources: [this.lake.bucketArn], conditions }),
      );
      this.lake.addToResourcePolicy(
        new PolicyStatement({
          principals: [principal],
          actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion'],
          resources: [this.lake.arnForObjects('*')],
          conditions,
        }),
      );
      key.addToResourcePolicy(
        new PolicyStatement({
          principals: [principal],
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: ['*'],
          conditions: { ...conditions, StringEquals: { 'kms:ViaService': `s3.${this.region}.amazonaws.com` } },
        }),
      );
    }
    this.lake.addLifecycleRule({
      id: 'erasure-reaches-old-versions',
      noncurrentVersionExpiration: Duration.days(BACKUP_RETENTION_DAYS),
      abortIncompleteMultipartUploadAfter: Duration.days(1),
    });
    this.catalog = new LakeCatalog(this, 'Catalog', { bucket: this.lake, databaseName: `${props.prefix.replaceAll('-', '_')}_lake` });
    this.results = secureBucket(this, 'AthenaResults', key, { versioned: false, retain: false, logs: accessLogs });
    // query results may quote customer ids: kept a week
    this.results.addLifecycleRule({ id: 'results-expire', expiration: Duration.days(7), abortIncompleteMultipartUploadAfter: Duration.days(1) });
    new CfnWorkGroup(this, 'WorkGroup', {
      name: `${props.prefix}-analytics`,
      state: 'ENABLED',
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        resultConfiguration: {
          outputLocation: `s3://${this.results.bucketName}/`,
          encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKey: key.keyArn },
        },
      },
    });
  }
}
