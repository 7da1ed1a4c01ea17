import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Aws, type CfnElement, CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { FlowLogDestination, FlowLogTrafficType, GatewayVpcEndpointAwsService, Peer, Port, SecurityGroup, SubnetType, Vpc } from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import { Cluster, ContainerImage, ContainerInsights, CpuArchitecture, FargateTaskDefinition, LogDrivers, OperatingSystemFamily } from 'aws-cdk-lib/aws-ecs';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { Workload } from './accounts.js';
import { type DataStack, storeEnvironment } from './data.stack.js';
import { accessLogsBucket } from './foundation.stacks.js';
import { grantTable, type TableAccess } from './grants.js';
import { everyTable, type TableKind } from './tables.js';

// The long jobs (full rebuilds, migrations, batch matching), which can outlast Lambda's 15
// minutes: ECS Fargate tasks (arm64) from one image of this repository running the CLI
// (Dockerfile, src/infrastructure/job.ts), one task definition per job, each with its own role
// allowed only the tables that job reads and writes. An operator starts one with `aws ecs
// run-task` (README, Deploy), giving the tenant; its progress and result go to its log.
// Not a Step Functions workflow: the CLI already pages, checkpoints (migrate --resume) and
// reports, and a task runs it unchanged for hours; a state machine would have every job
// rewritten into chunks for no gain here.

export const JOBS = ['rebuild', 'match', 'migrate'] as const;
export type JobName = (typeof JOBS)[number];

/**
 * What each job reads and writes, and the tables it scans (checked against what the commands
 * really call on DynamoDB Local: test/integration/jobs.tables.test.ts).
 */
export const JOB_ACCESS: Record<JobName, TableAccess> = {
  // replays the log (events) into a fresh generation of views, opening each customer's data key
  rebuild: { events: 'read', keys: 'read', views: 'readWrite', audit: 'readWrite' },
  // lists the pairs the stored match book suggests (kept with the views), counting the views; read-only
  match: { views: 'read' },
  // copies a tenant from a SQLite file into the stage's tables, then rebuilds its views
  migrate: everyTable('readWrite'),
};
export const JOB_SCANS: Record<JobName, readonly TableKind[]> = { rebuild: [], match: [], migrate: ['keys'] };

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export type JobsStackProps = StackProps & { readonly workload: Workload; readonly prefix: string; readonly data: DataStack };

export class JobsStack extends Stack {
  readonly cluster: Cluster;
  readonly vpc: Vpc;
  readonly securityGroup: SecurityGroup;
  readonly logGroup: LogGroup;
  /** where an operator uploads the SQLite file a migration copies from (C360_JOB_SOURCE) */
  readonly inputs: Bucket;
  readonly tasks: Record<JobName, FargateTaskDefinition>;

  constructor(scope: Construct, id: string, props: JobsStackProps) {
    super(scope, id, props);
    const { data, workload } = props;
    const removalPolicy = workload.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const retention = workload.production ? RetentionDays.ONE_YEAR : RetentionDays.ONE_MONTH;

    // Public subnets without NAT: a task gets a public address for the AWS APIs (HTTPS out only, no
    // inbound rule), DynamoDB and S3 are reached through gateway endpoints. No fixed cost while no
    // job runs.
    const flowLogs = new LogGroup(this, 'FlowLogs', { retention, encryptionKey: data.dataKey, removalPolicy });
    this.vpc = new Vpc(this, 'Vpc', {
      vpcName: `${props.prefix}-jobs`,
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'jobs', subnetType: SubnetType.PUBLIC, cidrMask: 24 }],
      gatewayEndpoints: {
        DynamoDb: { service: GatewayVpcEndpointAwsService.DYNAMODB },
        S3: { service: GatewayVpcEndpointAwsService.S3 },
      },
      flowLogs: { rejected: { destination: FlowLogDestination.toCloudWatchLogs(flowLogs), trafficType: FlowLogTrafficType.REJECT } },
      restrictDefaultSecurityGroup: false,
    });
    this.securityGroup = new SecurityGroup(this, 'TaskSecurityGroup', {
      vpc: this.vpc,
      allowAllOutbound: false,
      description: 'c360 long jobs: HTTPS to AWS APIs only, nothing inbound',
    });
    this.securityGroup.addEgressRule(Peer.anyIpv4(), Port.tcp(443), 'AWS APIs over TLS');

    this.cluster = new Cluster(this, 'Cluster', {
      clusterName: `${props.prefix}-jobs`,
      vpc: this.vpc,
      containerInsightsV2: ContainerInsights.ENABLED,
      enableFargateCapacityProviders: true,
    });
    this.logGroup = new LogGroup(this, 'Logs', { logGroupName: `/ecs/${props.prefix}-jobs`, retention, encryptionKey: data.dataKey, removalPolicy });

    const accessLogs = accessLogsBucket(this, 90, removalPolicy);
    // unversioned, and emptied after a week: an uploaded store holds personal data (encrypted
    // under its own data keys) and must not outlive the migration
    this.inputs = new Bucket(this, 'JobInputs', {
      encryption: BucketEncryption.KMS,
      encryptionKey: data.dataKey,
      bucketKeyEnabled: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'job-inputs/',
      lifecycleRules: [{ expiration: Duration.days(7), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      removalPolicy,
    });

    // built from the repository's Dockerfile when the asset is published (the pipeline's asset
    // step); synth only stages the files .dockerignore lets through, with no Docker
    const image = ContainerImage.fromAsset(ROOT, { file: 'Dockerfile', platform: Platform.LINUX_ARM64 });
    const environment: Record<string, string> = {
      ...storeEnvironment(props.prefix, data),
      // the real DynamoDB, named, so the CLI never starts an emulator; the tables exist already
      AWS_ENDPOINT_URL_DYNAMODB: `https://dynamodb.${Aws.REGION}.${Aws.URL_SUFFIX}`,
      // the region the endpoint is signed for, whatever the platform sets
      AWS_REGION: Aws.REGION,
      // a job neither decides nor relays offers: the outbox stays the outbox function's
      C360_ENGAGEMENT: 'off',
      C360_LAKE: 'off',
      C360_DATA_DIR: '/tmp/c360',
    };

    const executionRole = new Role(this, 'ExecutionRole', {
      assumedBy: new ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: `${props.prefix} long jobs: pulls the image and writes the jobs' log`,
    });
    const tasks = {} as Record<JobName, FargateTaskDefinition>;
    for (const job of JOBS) {
      const Job = `${job[0]!.toUpperCase()}${job.slice(1)}`;
      const role = new Role(this, `${Job}Role`, {
        assumedBy: new ServicePrincipal('ecs-tasks.amazonaws.com'),
        description: `${props.prefix}-${job}: the tables this job reads and writes, the stage's keys, the core secret`,
      });
      for (const [kind, level] of Object.entries(JOB_ACCESS[job]) as [TableKind, 'read' | 'readWrite'][])
        grantTable(role, data.tables[kind].table, level, { scan: JOB_SCANS[job].includes(kind) });
      // the tables, logs and secret are encrypted under the data key; the master key wraps the data
      // keys. A job that writes no table only decrypts with the data key; one that only reads the
      // key table only unwraps with the master key
      const access = Object.values(JOB_ACCESS[job]);
      if (access.includes('readWrite')) data.dataKey.grantEncryptDecrypt(role);
      else data.dataKey.grantDecrypt(role);
      if (JOB_ACCESS[job].keys === 'readWrite') data.masterKey.grantEncryptDecrypt(role);
      else if (JOB_ACCESS[job].keys === 'read') data.masterKey.grantDecrypt(role);
      if (job === 'migrate') {
        role.addToPrincipalPolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: [this.inputs.arnForObjects('*')] }));
        Validations.of(role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.inputs.node.defaultChild as CfnElement)}.Arn>/*]`,
          reason: 'reads the object the operator uploaded for this migration (C360_JOB_SOURCE), in the job inputs bucket only',
        });
      }
      role.addToPrincipalPolicy(
        new PolicyStatement({ actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], resources: [data.coreSecret.secretArn] }),
      );
      const task = new FargateTaskDefinition(this, `${Job}Task`, {
        family: `${props.prefix}-${job}`,
        cpu: 1024,
        memoryLimitMiB: 4096,
        // migrate fetches its SQLite source onto the task's disk
        ephemeralStorageGiB: job === 'migrate' ? 100 : undefined,
        runtimePlatform: { cpuArchitecture: CpuArchitecture.ARM64, operatingSystemFamily: OperatingSystemFamily.LINUX },
        taskRole: role,
        executionRole,
      });
      task.addContainer('c360', {
        containerName: 'c360',
        image,
        command: [job],
        environment,
        logging: LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: job }),
      });
      Validations.of(task).acknowledge({
        id: 'AwsSolutions-ECS2',
        reason:
          'the environment holds names and ids only (tables, key ARN, secret ARN); the claim secret and master keys are read from Secrets Manager at start (C360_SECRET_ID), never from the environment',
      });
      for (const [finding, reason] of [
        ['Action::kms:GenerateDataKey*', "envelope encryption under the stage's own keys (named by ARN): the data key variants"],
        ['Action::kms:ReEncrypt*', "CDK's encrypt/decrypt grant on the stage's own keys (named by ARN)"],
      ] as const)
        Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
      tasks[job] = task;
      new CfnOutput(this, `${Job}TaskDefinition`, { value: task.family, description: `aws ecs run-task --task-definition for \`c360 ${job}\`` });
    }
    this.tasks = tasks;
    Validations.of(executionRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ecr:GetAuthorizationToken has no resource type (AWS requires "*"); the image pull itself is limited to the assets repository',
    });

    new CfnOutput(this, 'JobsCluster', { value: this.cluster.clusterName });
    new CfnOutput(this, 'JobSubnets', { value: this.vpc.publicSubnets.map((s) => s.subnetId).join(',') });
    new CfnOutput(this, 'JobSecurityGroup', { value: this.securityGroup.securityGroupId });
    new CfnOutput(this, 'JobInputBucket', { value: this.inputs.bucketName });
    new CfnOutput(this, 'JobsLogGroup', { value: this.logGroup.logGroupName });
  }
}
