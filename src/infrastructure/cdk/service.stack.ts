import { CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LambdaFunction as LambdaTarget } from 'aws-cdk-lib/aws-events-targets';
import { Stream, StreamEncryption, StreamMode } from 'aws-cdk-lib/aws-kinesis';
import { EventSourceMapping, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { LAKE_KEY_ALIAS, lakeWriterRoleName, type Workload } from './accounts.js';
import { type DataStack, storeEnvironment } from './data.stack.js';
import { type AnyFunctionName, C360Function, type C360FunctionProps, type FunctionName } from './function.js';
import { grantTable, grantTableStream } from './grants.js';
import { Observability } from './observability.js';
import { everyTable, type TableKind } from './tables.js';

// A workload's functions and their wiring: the HTTP API (api), the Kinesis stream (kinesis), the
// events table's stream (streams), the outbox schedule (outbox), the SNS topics, the DLQs, and
// the alarms and dashboard. Each function's role is granted its own resources by name.

export type ServiceStackProps = StackProps & {
  readonly workload: Workload;
  readonly prefix: string;
  readonly data: DataStack;
  readonly assetsDir: string;
  readonly alarmEmail?: string | undefined;
  /** where the lake is (the data account's bucket): the lake function is made when the workload feeds it */
  readonly lake?: { readonly bucketName: string; readonly account: string; readonly region: string } | undefined;
};

/**
 * An access log line as JSON, from variables HTTP APIs define (the REST API's standard format
 * names $context.resourcePath, which an HTTP API does not have): the route, never a body or header.
 */
export const HTTP_API_ACCESS_LOG = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    ip: '$context.identity.sourceIp',
    requestTime: '$context.requestTime',
    httpMethod: '$context.httpMethod',
    routeKey: '$context.routeKey',
    path: '$context.path',
    status: '$context.status',
    protocol: '$context.protocol',
    responseLength: '$context.responseLength',
    integrationLatency: '$context.integrationLatency',
    integrationError: '$context.integrationErrorMessage',
  }),
);

/**
 * where a failed batch is recorded, after bisecting and retrying: its shard and sequence range
 * (Lambda sends the batch's metadata, not its records), kept 14 days, encrypted; kept through a
 * stack deletion or replacement in production, as the stream and the tables are
 */
const dlq = (scope: Construct, id: string, props: ServiceStackProps) =>
  new Queue(scope, id, {
    queueName: `${props.prefix}-${id.toLowerCase()}`,
    encryption: QueueEncryption.KMS,
    encryptionMasterKey: props.data.dataKey,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    removalPolicy: props.workload.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
  });

export class ServiceStack extends Stack {
  readonly functions: Record<FunctionName, C360Function> & { readonly lake?: C360Function | undefined };
  readonly ingestStream: Stream;
  readonly offersTopic: Topic;
  readonly identityTopic: Topic;
  readonly alarmTopic: Topic;
  readonly api: HttpApi;
  readonly dlqs: { readonly kinesis: Queue; readonly streams: Queue };

  constructor(scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id, props);
    const { data, workload } = props;
    const production = workload.production;
    const topic = (name: string) =>
      new Topic(this, `${name}Topic`, { topicName: `${props.prefix}-${name.toLowerCase()}`, masterKey: data.dataKey, enforceSSL: true });
    this.offersTopic = topic('Offers');
    this.identityTopic = topic('Identity');
    this.alarmTopic = topic('Alarms');
    if (props.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
    this.ingestStream = new Stream(this, 'IngestStream', {
      streamName: `${props.prefix}-ingest`,
      streamMode: StreamMode.ON_DEMAND,
      encryption: StreamEncryption.KMS,
      encryptionKey: data.dataKey,
      retentionPeriod: Duration.hours(production ? 168 : 24),
      removalPolicy: production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.dlqs = { kinesis: dlq(this, 'KinesisDlq', props), streams: dlq(this, 'StreamsDlq', props) };
    for (const q of Object.values(this.dlqs))
      Validations.of(q).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'this queue is itself a dead-letter queue (an on-failure destination)' });
    Validations.of(this.ingestStream).acknowledge({
      id: 'AwsSolutions-KDS3',
      reason: "encrypted with the stage's customer-managed, rotating key on purpose, not the AWS-managed aws/kinesis key",
    });

    const environment: Record<string, string> = {
      ...storeEnvironment(props.prefix, data),
      C360_PROJECTION: 'streams',
      C360_SNS_TOPIC_ARN: this.offersTopic.topicArn,
      C360_IDENTITY_TOPIC_ARN: this.identityTopic.topicArn,
    };
    const withCredentials = { ...environment, C360_CREDENTIALS_SECRET_ID: data.credentialsSecret.secretArn };
    const make = (name: AnyFunctionName, extra: Partial<C360FunctionProps> = {}) =>
      new C360Function(this, `${name[0]!.toUpperCase()}${name.slice(1)}`, {
        name,
        assetsDir: props.assetsDir,
        stage: workload.name,
        key: data.dataKey,
        environment: name === 'api' || name === 'kinesis' ? withCredentials : environment,
        production,
        ...extra,
      });
    const lake = this.lakeFunction(props, make, environment);
    this.functions = {
      // protects the tables and KMS from a flood the HTTP API's throttle lets through
      api: make('api', {
        reservedConcurrency: workload.apiReservedConcurrency || undefined,
        // the lake function's schedule: an erasure receipt says by when the lake is clean
        ...(lake && workload.lake
          ? {
              environment: {
                ...withCredentials,
                C360_LAKE_SCHEDULE_MINUTES: String(workload.lake.everyMinutes),
                C360_LAKE_SCHEDULE_TENANTS: workload.lake.tenants.join(','),
              },
            }
          : {}),
      }),
      kinesis: make('kinesis', { timeout: Duration.minutes(2) }),
      streams: make('streams', { timeout: Duration.minutes(2) }),
      // one flush at a time (two would race for the same due entries), and each done before the
      // next tick (the handler starts no page with less than 10 s left), so ticks are not throttled
      outbox: make('outbox', { timeout: Duration.seconds(50), reservedConcurrency: 1, memoryMb: 512 }),
      ...(lake ? { lake } : {}),
    };
    this.grant(props);
    this.wire(props);
    this.api = this.httpApi(props);
    new Observability(this, 'Observability', {
      prefix: props.prefix,
      functions: this.functions,
      dlqs: this.dlqs,
      tables: Object.values(data.tables).map((t) => t.table),
      api: this.api,
      alarmTopic: this.alarmTopic,
    });
    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint });
    new CfnOutput(this, 'IngestStreamName', { value: this.ingestStream.streamName });
    new CfnOutput(this, 'OffersTopicArn', { value: this.offersTopic.topicArn });
    new CfnOutput(this, 'IdentityTopicArn', { value: this.identityTopic.topicArn });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn });
  }

  /**
   * The lake function, where this workload feeds the lake: on a schedule it catches the listed
   * tenants' Parquet tables up from the log, into the data account's lake bucket. One at a time
   * (the writer assumes it is the only one on its prefix), each run ending before the next tick (it
   * stops at a flush with a minute left and the next tick goes on). It reads the events table (it never
   * decrypts personal sections: no data-key access), writes the lake's objects, and marks the erasure
   * ledger's receipts whose customers the lake no longer holds (lakeCleanAt); the data
   * account's bucket and key policies name its role (LakeStack).
   */
  private lakeFunction(
    props: ServiceStackProps,
    make: (name: AnyFunctionName, extra?: Partial<C360FunctionProps>) => C360Function,
    environment: Record<string, string>,
  ): C360Function | undefined {
    const feed = props.workload.lake;
    if (!feed || !props.lake) return undefined;
    const { bucketName, account, region } = props.lake;
    const lake = make('lake', {
      // ends before the next tick (it stops at a flush with a minute left): with one reserved
      // instance a tick never finds the last one still running, so ticks are not throttled
      timeout: Duration.minutes(Math.min(15, feed.everyMinutes - 1)),
      reservedConcurrency: 1,
      roleName: lakeWriterRoleName(props.workload),
      environment: { ...environment, C360_LAKE_BUCKET: bucketName, C360_LAKE_TENANTS: feed.tenants.join(','), C360_LAKE_VERSIONED: 'true' },
    });
    const role = lake.role;
    grantTable(role, props.data.tables.events.table, 'read');
    // an erasure receipt gets lakeCleanAt once a run has purged its customers: the ledger read and
    // its items rewritten (batch writes, as the ledger writes them), never one deleted singly
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchWriteItem'], resources: [props.data.tables.ledger.table.attrArn] }),
    );
    props.data.dataKey.grantDecrypt(role);
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], resources: [props.data.coreSecret.secretArn] }),
    );
    const bucketArn = `arn:aws:s3:::${bucketName}`;
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:ListBucket', 's3:ListBucketVersions'], resources: [bucketArn] }));
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion'], resources: [`${bucketArn}/*`] }),
    );
    // the lake's key lives in the data account and its id is not known here (the Data stage makes
    // it at deployment, in another account, and this stack is synthesized without lookups; an IAM
    // statement cannot name a key by its alias): any key of that account, but only through S3 and
    // only the one behind the lake's alias
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [`arn:aws:kms:${region}:${account}:key/*`],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${region}.amazonaws.com` }, 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': LAKE_KEY_ALIAS } },
      }),
    );
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:aws:kms:${region}:${account}:key/*]`,
      reason: "the lake's key is in the data account and its id is not known to this stack: limited to S3's use of the key behind alias/c360-lake",
    });
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:aws:s3:::${bucketName}/*]`,
      reason: "the lake's Parquet objects: the writer creates, rewrites and deletes partition files it names at run time",
    });
    new Rule(this, 'LakeSchedule', {
      ruleName: `${props.prefix}-lake-catch-up`,
      description: "catches the analytics lake up from the log (the tenants in the workload's lake config)",
      schedule: Schedule.rate(Duration.minutes(feed.everyMinutes)),
      targets: [new LambdaTarget(lake.fn, { retryAttempts: 0 })],
    });
    return lake;
  }

  /** Each function: its tables, its secrets, its keys, its topics. Nothing else. */
  private grant(props: ServiceStackProps): void {
    const { data } = props;
    const t = data.tables;
    const access: Record<FunctionName, Partial<Record<TableKind, 'read' | 'readWrite'>>> = {
      // queries, GDPR (erase, export, audit, ledger), quarantine replay, admin: every table
      api: everyTable('readWrite'),
      // ingest: commits, data keys, quarantine; views are read for lookups only
      kinesis: { events: 'readWrite', keys: 'readWrite', quarantine: 'readWrite', views: 'read' },
      // projection, then engagement decisions (committed as events) and their outbox entries
      streams: { events: 'readWrite', views: 'readWrite', keys: 'readWrite', outbox: 'readWrite' },
      // the relay confirms entries against the log and skips erased customers
      outbox: { outbox: 'readWrite', events: 'read', keys: 'read' },
    };
    for (const [name, tables] of Object.entries(access) as [FunctionName, typeof access.api][]) {
      const { role } = this.functions[name];
      for (const [kind, level] of Object.entries(tables) as [TableKind, 'read' | 'readWrite'][]) grantTable(role, t[kind].table, level);
      data.dataKey.grantEncryptDecrypt(role);
      // the master key wraps customers' data keys: a function that only reads the key table only unwraps them
      if (tables.keys === 'readWrite') data.masterKey.grantEncryptDecrypt(role);
      else if (tables.keys === 'read') data.masterKey.grantDecrypt(role);
      // by statement, not secret.grantRead: that also names the role in the key's policy (another stack)
      const secrets = name === 'api' || name === 'kinesis' ? [data.coreSecret, data.credentialsSecret] : [data.coreSecret];
      role.addToPrincipalPolicy(
        new PolicyStatement({ actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], resources: secrets.map((s) => s.secretArn) }),
      );
    }
    this.offersTopic.grantPublish(this.functions.streams.role);
    this.identityTopic.grantPublish(this.functions.streams.role);
    this.offersTopic.grantPublish(this.functions.outbox.role);
    // the api erases and unmerges: the identity feed hears of it after projection (streams)
  }

  private wire(props: ServiceStackProps): void {
    const failure = { bisectBatchOnError: true, reportBatchItemFailures: true, retryAttempts: 5, maxRecordAge: Duration.hours(6) };
    this.ingestStream.grantRead(this.functions.kinesis.role);
    new EventSourceMapping(this, 'KinesisMapping', {
      target: this.functions.kinesis.fn,
      eventSourceArn: this.ingestStream.streamArn,
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: 100,
      maxBatchingWindow: Duration.seconds(1),
      // one batch per shard at a time: records of one partition key stay in order
      parallelizationFactor: 1,
      onFailure: new SqsDlq(this.dlqs.kinesis),
      ...failure,
    });
    const events = props.data.tables.events.table;
    grantTableStream(this.functions.streams.role, events);
    new EventSourceMapping(this, 'StreamsMapping', {
      target: this.functions.streams.fn,
      eventSourceArn: events.attrStreamArn,
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: 100,
      parallelizationFactor: 1,
      onFailure: new SqsDlq(this.dlqs.streams),
      ...failure,
    });
    new Rule(this, 'OutboxSchedule', {
      ruleName: `${props.prefix}-outbox-flush`,
      description: 'publishes what the engagement outbox still holds',
      schedule: Schedule.rate(Duration.minutes(1)),
      targets: [new LambdaTarget(this.functions.outbox.fn, { retryAttempts: 2, maxEventAge: Duration.minutes(5) })],
    });
  }

  private httpApi(props: ServiceStackProps): HttpApi {
    const api = new HttpApi(this, 'HttpApi', {
      apiName: `${props.prefix}-api`,
      description: 'Customer 360 API: requests are authenticated by the function (write keys, bearer tokens)',
      defaultIntegration: new HttpLambdaIntegration('Api', this.functions.api.fn),
      createDefaultStage: false,
    });
    const accessLogs = new LogGroup(this, 'ApiAccessLogs', {
      retention: props.workload.production ? RetentionDays.ONE_YEAR : RetentionDays.ONE_MONTH,
      encryptionKey: props.data.dataKey,
      removalPolicy: props.workload.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    new HttpStage(this, 'DefaultStage', {
      httpApi: api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.workload.apiThrottle.rate, burstLimit: props.workload.apiThrottle.burst },
      detailedMetricsEnabled: true,
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs), format: HTTP_API_ACCESS_LOG },
    });
    Validations.of(api).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'the function authenticates every request (Segment write keys in Basic auth or the body, bearer tokens with scopes, per-credential rate limits); an API Gateway authorizer cannot read a write key from a batch body',
    });
    return api;
  }
}
