import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { glueTables } from '../../src/adapters/lake/lake.tables.js';
import { acknowledgedFindings } from '../../src/infrastructure/cdk/app.js';
import { nagSummary } from '../../src/infrastructure/cdk/synth.js';
import { JOB_ACCESS, JOB_SCANS, JOBS } from '../../src/infrastructure/cdk/jobs.stack.js';
import { FSBP_STANDARD } from '../../src/infrastructure/cdk/security.stack.js';
import type { WorkloadStage } from '../../src/infrastructure/cdk/stages.js';
import { TABLE_KINDS } from '../../src/infrastructure/cdk/tables.js';
import { loadAccounts } from '../../src/infrastructure/cdk/accounts.js';
import { HTTP_API_ACCESS_LOG } from '../../src/infrastructure/cdk/service.stack.js';
import { removeTempDirs, resources, synthApp, tempDir } from '../support/cdk.js';

// The deployment, synthesized offline (no account, no Docker, no lookups) with the cdk-nag gate on
// every stage, and the properties the platform depends on asserted on the templates.

let built: ReturnType<typeof synthApp>;
let workloads: WorkloadStage[];
const stage = (name: string) => workloads.find((w) => w.stageName === name)!;
const data = (name: string) => Template.fromStack(stage(name).data);
const service = (name: string) => Template.fromStack(stage(name).service);
const jobs = (name: string) => Template.fromStack(stage(name).jobs);

beforeAll(() => {
  built = synthApp();
  workloads = built.pipeline.stages;
}, 180_000);
afterAll(removeTempDirs);

describe('synth', () => {
  it('synthesizes every stage: management, security, data, and the pipeline with dev, staging and prod (cdk-nag found nothing unacknowledged)', () => {
    const stages = built.assembly.nestedAssemblies.map((a) => a.directoryName.replace('assembly-', ''));
    expect(stages.sort()).toEqual(['Data', 'Management', 'Pipeline-dev', 'Pipeline-prod', 'Pipeline-staging', 'Security']);
    expect(built.assembly.stacks.map((s) => s.stackName)).toEqual(['c360-pipeline']);
    expect(workloads.map((w) => [w.stageName, w.account])).toEqual([
      ['dev', '555555555555'],
      ['staging', '666666666666'],
      ['prod', '777777777777'],
    ]);
  });
});

describe('the cdk-nag gate, as npm run synth reports it', () => {
  it('ran on every stage of this synth, over every template, and found nothing unacknowledged; the summary says so', () => {
    const stacks = (a: typeof built.assembly): number => a.stacks.length + a.nestedAssemblies.reduce((n, nested) => n + stacks(nested.nestedAssembly), 0);
    expect(built.nag.runs.length).toBeGreaterThan(0);
    expect(built.nag.runs.every((r) => r.success && r.violations === 0)).toBe(true);
    expect(built.nag.runs.reduce((n, r) => n + r.templates, 0)).toBeGreaterThanOrEqual(stacks(built.assembly));
    const acknowledged = acknowledgedFindings(built.app);
    expect(acknowledged).toBeGreaterThan(20);
    expect(nagSummary(built.nag.runs, acknowledged)).toMatch(
      /^cdk-nag AwsSolutions gate: \d+ templates checked \(every stage\), 0 unacknowledged findings, \d+ acknowledged with their reasons/,
    );
    expect(nagSummary([], 0)).toMatch(/did NOT run/);
  });
});

describe('the CDK CLI', () => {
  it('the pinned CLI (`npx cdk`, as the README deploys) reads the synthesized assembly: `cdk ls` lists every stack', () => {
    const cli = join(process.cwd(), 'node_modules', '.bin', 'cdk');
    const pinned = (JSON.parse(readFileSync('package.json', 'utf8')) as { devDependencies: Record<string, string> }).devDependencies['aws-cdk'];
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/); // an exact version, locked
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: tempDir('c360-cdk-home-'),
      CDK_DISABLE_VERSION_CHECK: 'true',
      CDK_DISABLE_CLI_TELEMETRY: 'true',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      // anything the CLI tried to fetch would fail here, on loopback, instead of leaving the machine
      HTTPS_PROXY: 'http://127.0.0.1:9',
      HTTP_PROXY: 'http://127.0.0.1:9',
    };
    // run elsewhere: the CLI writes cdk.context.json into its working folder
    const cwd = tempDir('c360-cdk-cwd-');
    const version = execFileSync(cli, ['--version'], { env, cwd, encoding: 'utf8' });
    expect(version.split(' ')[0]).toBe(pinned);
    const listed = execFileSync(cli, ['ls', '--app', built.assembly.directory, '--no-notices'], { env, cwd, encoding: 'utf8' });
    const expected = built.assembly.stacksRecursively.map((s) => s.displayName);
    expect(expected.length).toBe(14);
    expect(listed.trim().split('\n').sort()).toEqual(expected.sort());
  }, 60_000);
});

describe('data', () => {
  it('deploys every table the code creates, on demand, with PITR (35 days) and the rotating customer-managed key', () => {
    const t = data('dev');
    const tables = resources(t, 'AWS::DynamoDB::Table');
    expect(tables.map(([, p]) => p.TableName).sort()).toEqual(
      ['c360-dev-audit', 'c360-dev-erasures', 'c360-dev-events', 'c360-dev-events-outbox', 'c360-dev-keys', 'c360-dev-quarantine', 'c360-dev-views'].sort(),
    );
    expect(tables).toHaveLength(TABLE_KINDS.length);
    const [keyId] = Object.keys(t.findResources('AWS::KMS::Key', { Properties: { Description: Match.stringLikeRegexp('tables') } }));
    for (const [, p] of tables) {
      expect(p.BillingMode).toBe('PAY_PER_REQUEST');
      expect(p.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 35 });
      expect(p.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    }
  });

  it('every KMS key in every stage rotates', () => {
    const stacks = [...workloads.flatMap((w) => [w.data, w.service]), built.security.logArchive, built.data.lake];
    let keys = 0;
    for (const s of stacks)
      for (const [, p] of resources(Template.fromStack(s), 'AWS::KMS::Key')) {
        keys++;
        expect(p.EnableKeyRotation).toBe(true);
      }
    expect(keys).toBeGreaterThanOrEqual(8);
  });

  it('TTL where the code expires items (events: idempotency records, quarantine, outbox) and nowhere else', () => {
    const ttl = Object.fromEntries(resources(data('dev'), 'AWS::DynamoDB::Table').map(([, p]) => [p.TableName, p.TimeToLiveSpecification]));
    expect(ttl['c360-dev-events']).toEqual({ AttributeName: 'ttl', Enabled: true });
    expect(ttl['c360-dev-quarantine']).toEqual({ AttributeName: 'ttl', Enabled: true });
    expect(ttl['c360-dev-events-outbox']).toEqual({ AttributeName: 'ttl', Enabled: true });
    for (const kept of ['c360-dev-views', 'c360-dev-keys', 'c360-dev-audit', 'c360-dev-erasures']) expect(ttl[kept]).toBeUndefined();
  });

  it('the events table streams NEW_IMAGE (the projector reads the committed item); no other table streams', () => {
    const streams = resources(data('prod'), 'AWS::DynamoDB::Table').filter(([, p]) => p.StreamSpecification !== undefined);
    expect(streams.map(([, p]) => [p.TableName, p.StreamSpecification])).toEqual([['c360-prod-events', { StreamViewType: 'NEW_IMAGE' }]]);
  });

  it('deletion protection and retained tables in production only', () => {
    for (const [name, on] of [
      ['prod', true],
      ['staging', false],
      ['dev', false],
    ] as const) {
      const t = data(name);
      for (const [, p] of resources(t, 'AWS::DynamoDB::Table')) expect(p.DeletionProtectionEnabled).toBe(on);
      const policies = Object.values(t.findResources('AWS::DynamoDB::Table')).map((r) => (r as { DeletionPolicy?: string }).DeletionPolicy);
      expect(new Set(policies)).toEqual(new Set([on ? 'Retain' : 'Delete']));
    }
  });
});

describe('ingest, projection and engagement', () => {
  it('the HTTP API routes to the api function, logs access as JSON and throttles', () => {
    const t = service('prod');
    t.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: HTTP_API_ACCESS_LOG.toString() },
      DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 },
    });
    // variables an HTTP API defines (the REST API's standard fields name $context.resourcePath, which it does not)
    const fields = Object.values(JSON.parse(HTTP_API_ACCESS_LOG.toString()) as Record<string, string>);
    expect(fields).toEqual(expect.arrayContaining(['$context.requestId', '$context.routeKey', '$context.status', '$context.identity.sourceIp']));
    expect(fields.filter((f) => /resourcePath|identity\.user\b/.test(f))).toEqual([]);
    t.hasResourceProperties('AWS::ApiGatewayV2::Integration', { IntegrationType: 'AWS_PROXY' });
  });

  it('the Kinesis stream is encrypted with the customer-managed key', () => {
    service('dev').hasResourceProperties('AWS::Kinesis::Stream', {
      StreamEncryption: { EncryptionType: 'KMS', KeyId: Match.anyValue() },
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
    });
  });

  it('both event source mappings report item failures, bisect, bound age and retries, and send what fails to an encrypted DLQ', () => {
    const t = service('staging');
    const mappings = resources(t, 'AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(2);
    const queues = Object.fromEntries(resources(t, 'AWS::SQS::Queue'));
    for (const [, p] of mappings) {
      expect(p).toMatchObject({
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BisectBatchOnFunctionError: true,
        MaximumRecordAgeInSeconds: 21_600,
        MaximumRetryAttempts: 5,
        StartingPosition: 'TRIM_HORIZON',
        ParallelizationFactor: 1,
      });
      const destination = (p.DestinationConfig as { OnFailure: { Destination: { 'Fn::GetAtt': [string, string] } } }).OnFailure.Destination['Fn::GetAtt'][0];
      expect(queues[destination]).toMatchObject({ KmsMasterKeyId: expect.anything() });
    }
    const sources = mappings.map(([, p]) => JSON.stringify(p.EventSourceArn));
    expect(sources.some((s) => s.includes('IngestStream'))).toBe(true);
    expect(sources.some((s) => s.includes('EventsTable') && s.includes('StreamArn'))).toBe(true);
  });

  it('the DLQs (the only record of which batches were given up on) are retained in production, as the stream and tables are', () => {
    for (const [name, on] of [
      ['prod', true],
      ['staging', false],
      ['dev', false],
    ] as const) {
      const t = service(name);
      const queues = t.findResources('AWS::SQS::Queue');
      expect(
        Object.values(queues)
          .map((q) => (q as { Properties: { QueueName: string } }).Properties.QueueName)
          .sort(),
      ).toEqual([`c360-${name}-kinesisdlq`, `c360-${name}-streamsdlq`]);
      for (const q of Object.values(queues))
        expect(q).toMatchObject({ DeletionPolicy: on ? 'Retain' : 'Delete', UpdateReplacePolicy: on ? 'Retain' : 'Delete' });
      const stream = Object.values(t.findResources('AWS::Kinesis::Stream'))[0] as { DeletionPolicy?: string };
      expect(stream.DeletionPolicy).toBe(on ? 'Retain' : 'Delete');
    }
  });

  it('the SNS topics (offers, identity feed, alarms) are KMS-encrypted and refuse plain HTTP', () => {
    const t = service('dev');
    const topics = resources(t, 'AWS::SNS::Topic');
    expect(topics.map(([, p]) => p.TopicName).sort()).toEqual(['c360-dev-alarms', 'c360-dev-identity', 'c360-dev-offers']);
    for (const [, p] of topics) expect(p.KmsMasterKeyId).toBeDefined();
    expect(Object.keys(t.findResources('AWS::SNS::TopicPolicy'))).toHaveLength(3);
  });

  it('a schedule invokes the outbox function every minute', () => {
    const t = service('dev');
    const [outboxId] = Object.keys(t.findResources('AWS::Lambda::Function', { Properties: { FunctionName: 'c360-dev-outbox' } }));
    t.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [outboxId, 'Arn'] } })],
    });
  });
});

describe('functions', () => {
  it('run our bundles on nodejs22.x, arm64, with X-Ray and Powertools variables, each with its own role', () => {
    const fns = resources(service('prod'), 'AWS::Lambda::Function').filter(([, p]) => String(p.FunctionName).startsWith('c360-'));
    expect(fns.map(([, p]) => p.FunctionName).sort()).toEqual([
      'c360-prod-api',
      'c360-prod-kinesis',
      'c360-prod-lake',
      'c360-prod-outbox',
      'c360-prod-streams',
    ]);
    for (const [, p] of fns) {
      expect(p).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], TracingConfig: { Mode: 'Active' } });
      expect(p.Handler).toMatch(/^(api|kinesis|streams|outbox|lake)\.handler$/);
      const env = (p.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(env).toMatchObject({ POWERTOOLS_SERVICE_NAME: expect.stringMatching(/^c360-/), POWERTOOLS_METRICS_NAMESPACE: 'c360', C360_STORE: 'dynamodb' });
      // erasure receipts name when the tables' point-in-time recovery no longer holds the erased data
      expect(env.C360_BACKUP_RETENTION_DAYS).toBe('35');
    }
    expect(new Set(fns.map(([, p]) => JSON.stringify(p.Role))).size).toBe(5);
  });

  it("the lake function runs in the workload that feeds the lake only (prod), one at a time, on its schedule, into the data account's bucket", () => {
    for (const name of ['dev', 'staging'])
      expect(resources(service(name), 'AWS::Lambda::Function').filter(([, p]) => String(p.FunctionName).endsWith('-lake'))).toEqual([]);
    const t = service('prod');
    const [[lakeId, lake]] = resources(t, 'AWS::Lambda::Function').filter(([, p]) => p.FunctionName === 'c360-prod-lake') as [
      [string, Record<string, unknown>],
    ];
    expect(lake).toMatchObject({ Handler: 'lake.handler', ReservedConcurrentExecutions: 1, Timeout: 14 * 60 });
    expect((lake.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
      C360_LAKE_BUCKET: 'c360-lake-333333333333-eu-west-1',
      C360_LAKE_TENANTS: 'demo',
      C360_LAKE_VERSIONED: 'true',
      C360_EVENTS_TABLE: 'c360-prod-events',
    });
    t.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(15 minutes)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [lakeId, 'Arn'] } })],
    });
    t.hasResourceProperties('AWS::IAM::Role', { RoleName: 'c360-prod-lake' });
    // its policy: the events table read, the lake's objects, S3's use of the lake key, the erasure
    // ledger's receipts rewritten (lakeCleanAt); no view, key or quarantine table, no other write
    const [, policy] = resources(t, 'AWS::IAM::Policy').find(([id]) => id.startsWith('LakeRole'))!;
    const list = <T>(x: T | T[]) => (Array.isArray(x) ? x : [x]);
    const statements = (policy.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown; Condition?: unknown }[] }).Statement;
    const text = JSON.stringify(statements);
    expect(text).toMatch(/EventsTable/);
    for (const other of ['ViewsTable', 'KeysTable', 'QuarantineTable', 'AuditTable', 'OutboxTable', 'dynamodb:PutItem', 'dynamodb:DeleteItem'])
      expect(text).not.toContain(other);
    // the policy is minimized (actions sorted, statements on one resource merged): compare as sets
    const grant = (resource: unknown) => {
      const st = statements.find((x) => JSON.stringify(x.Resource) === JSON.stringify(resource));
      return st && { actions: [...list(st.Action)].sort(), condition: st.Condition };
    };
    const writes = statements.filter((x) => JSON.stringify(x.Action).includes('dynamodb:BatchWriteItem'));
    expect(writes.length).toBe(1);
    expect(JSON.stringify(writes[0]!.Resource)).toMatch(/Ledger/);
    expect([...list(writes[0]!.Action)].sort()).toEqual(['dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:Query']);
    // the api function knows the schedule: its erasure receipts give the bound (lakeCleanBy)
    const [[, api]] = resources(t, 'AWS::Lambda::Function').filter(([, p]) => p.FunctionName === 'c360-prod-api') as [[string, Record<string, unknown>]];
    expect((api.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
      C360_LAKE_SCHEDULE_MINUTES: '15',
      C360_LAKE_SCHEDULE_TENANTS: 'demo',
    });
    for (const name of ['dev', 'staging']) {
      const [[, other]] = resources(service(name), 'AWS::Lambda::Function').filter(([, p]) => p.FunctionName === `c360-${name}-api`) as [
        [string, Record<string, unknown>],
      ];
      expect((other.Environment as { Variables: Record<string, unknown> }).Variables.C360_LAKE_SCHEDULE_MINUTES).toBeUndefined();
    }
    expect(grant('arn:aws:s3:::c360-lake-333333333333-eu-west-1')).toEqual({ actions: ['s3:ListBucket', 's3:ListBucketVersions'], condition: undefined });
    expect(grant('arn:aws:s3:::c360-lake-333333333333-eu-west-1/*')).toEqual({
      actions: ['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:GetObject', 's3:PutObject'],
      condition: undefined,
    });
    expect(grant('arn:aws:kms:eu-west-1:333333333333:key/*')).toEqual({
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      condition: {
        StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' },
        'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/c360-lake' },
      },
    });
  });

  it('no secret is a plain environment variable: the functions get secret ids only', () => {
    for (const [, p] of resources(service('prod'), 'AWS::Lambda::Function')) {
      const env = (p.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
      for (const plain of ['C360_CLAIM_SECRET', 'C360_MASTER_KEY', 'C360_WRITE_KEY', 'C360_ADMIN_TOKEN', 'C360_CREDENTIALS_FILE', 'C360_CONSOLE_SESSION_KEY'])
        expect(env[plain]).toBeUndefined();
      if (String(p.FunctionName).startsWith('c360-')) expect(env.C360_SECRET_ID).toBeDefined();
    }
  });

  it('reserved concurrency: one outbox flush at a time; the api reserved where the stage config asks (prod)', () => {
    const reserved = (name: string) =>
      Object.fromEntries(resources(service(name), 'AWS::Lambda::Function').map(([, p]) => [p.FunctionName, p.ReservedConcurrentExecutions]));
    expect(reserved('prod')).toMatchObject({ 'c360-prod-outbox': 1, 'c360-prod-api': 200 });
    // a flush ends before the next minute's tick, so one reserved instance is never throttled
    service('prod').hasResourceProperties('AWS::Lambda::Function', { FunctionName: 'c360-prod-outbox', Timeout: 50 });
    expect(reserved('dev')['c360-dev-api']).toBeUndefined();
  });
});

describe('observability', () => {
  it('alarms on errors, throttles, iterator age, DLQ depth, DynamoDB throttles, API 5xx and p99, and quarantine growth, all to the alarm topic', () => {
    const t = service('prod');
    const alarms = resources(t, 'AWS::CloudWatch::Alarm');
    const names = alarms.map(([, p]) => String(p.AlarmName).replace('c360-prod-', ''));
    for (const fn of ['api', 'kinesis', 'streams', 'outbox']) expect(names).toEqual(expect.arrayContaining([`${fn}-errors`, `${fn}-throttles`]));
    expect(names).toEqual(
      expect.arrayContaining([
        'kinesis-iterator-age',
        'streams-iterator-age',
        'kinesis-dlq-depth',
        'streams-dlq-depth',
        'api-5xx',
        'api-p99-latency',
        'quarantine-growth',
      ]),
    );
    expect(names.filter((n) => n.endsWith('Table-throttles'))).toHaveLength(TABLE_KINDS.length);
    const [topicId] = Object.keys(t.findResources('AWS::SNS::Topic', { Properties: { TopicName: 'c360-prod-alarms' } }));
    for (const [, p] of alarms) expect(p.AlarmActions).toEqual([{ Ref: topicId }]);
    const quarantine = alarms.find(([, p]) => p.AlarmName === 'c360-prod-quarantine-growth')![1];
    const metrics = JSON.stringify(quarantine.Metrics);
    expect(metrics).toContain('"MetricName":"ingest_quarantined"');
    expect(metrics).toContain('"Namespace":"c360"');
    // sparse series (emitted only when non-zero, throttles only when they happen) are added with
    // FILL: a sum has no value where one of them has none, and the alarm would stay OK
    const expressions = (p: Record<string, unknown>) => (p.Metrics as { Expression?: string }[] | undefined)?.flatMap((m) => m.Expression ?? []) ?? [];
    expect(expressions(quarantine)).toEqual(['FILL(a, 0) + FILL(k, 0)']);
    const throttles = alarms.filter(([, p]) => String(p.AlarmName).endsWith('Table-throttles'));
    for (const [, p] of throttles) expect(expressions(p)).toEqual(['FILL(r, 0) + FILL(w, 0)']);
    // every expression of every alarm: no sum of metrics without FILL
    for (const [, p] of alarms) for (const e of expressions(p)) expect(e).not.toMatch(/(^|[^(\w])[a-z]\s*\+/);
    expect(Object.keys(t.findResources('AWS::CloudWatch::Dashboard'))).toHaveLength(1);
  });
});

describe('long jobs (ECS Fargate)', () => {
  const env = (p: Record<string, unknown>) =>
    Object.fromEntries(((p.ContainerDefinitions as { Environment: { Name: string; Value: unknown }[] }[])[0]!.Environment ?? []).map((e) => [e.Name, e.Value]));

  it('one arm64 Fargate task definition per job, running the CLI from the repository image, logging to an encrypted log group', () => {
    const t = jobs('prod');
    const tasks = resources(t, 'AWS::ECS::TaskDefinition');
    expect(tasks.map(([, p]) => p.Family).sort()).toEqual(JOBS.map((j) => `c360-prod-${j}`).sort());
    const [logsId, logs] = resources(t, 'AWS::Logs::LogGroup').find(([, p]) => p.LogGroupName === '/ecs/c360-prod-jobs')!;
    expect(logs.KmsKeyId).toEqual({ 'Fn::ImportValue': expect.stringMatching(/^c360-prod-data:.*DataKey/) });
    for (const [, p] of tasks) {
      expect(p).toMatchObject({ RequiresCompatibilities: ['FARGATE'], RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' } });
      const [container] = p.ContainerDefinitions as Record<string, unknown>[];
      expect(container!.Command).toEqual([String(p.Family).replace('c360-prod-', '')]);
      // one image for every job: the Dockerfile's asset in the CDK bootstrap's container repository
      expect(JSON.stringify(container!.Image)).toMatch(/cdk-c360-container-assets-777777777777-eu-west-1:[0-9a-f]{64}/);
      expect(container!.LogConfiguration).toMatchObject({ LogDriver: 'awslogs', Options: { 'awslogs-group': { Ref: logsId } } });
    }
    expect(new Set(tasks.map(([, p]) => JSON.stringify((p.ContainerDefinitions as { Image: unknown }[])[0]!.Image))).size).toBe(1);
    expect(new Set(tasks.map(([, p]) => JSON.stringify(p.TaskRoleArn))).size).toBe(JOBS.length);
  });

  it('the image asset is the Dockerfile and what .dockerignore lets through, staged by synth without Docker', () => {
    const nested = built.assembly.getNestedAssembly('assembly-Pipeline-prod');
    const manifest = readdirSync(nested.directory).find((f) => /^PipelineprodJobs.*\.assets\.json$/.test(f))!;
    const images = Object.values(
      (
        JSON.parse(readFileSync(join(nested.directory, manifest), 'utf8')) as {
          dockerImages: Record<string, { source: { directory: string; platform?: string } }>;
        }
      ).dockerImages,
    ).map((i) => i.source);
    expect(images).toHaveLength(1);
    const dir = join(nested.directory, images[0]!.directory);
    expect(readdirSync(dir).sort()).toEqual(['.dockerignore', 'Dockerfile', 'bin', 'package-lock.json', 'package.json', 'src', 'tsconfig.json']);
    expect(existsSync(join(dir, 'src/infrastructure/cdk'))).toBe(false);
    // the entry the Dockerfile runs is in the image
    const entry = /ENTRYPOINT \[.*"(src\/[^"]+)"\]/.exec(readFileSync(join(dir, 'Dockerfile'), 'utf8'))![1]!;
    expect(existsSync(join(dir, entry))).toBe(true);
    expect(images[0]).toMatchObject({ platform: 'linux/arm64' });
  });

  it('the cluster has container insights; the tasks leave by HTTPS only and nothing comes in', () => {
    const t = jobs('dev');
    t.hasResourceProperties('AWS::ECS::Cluster', { ClusterName: 'c360-dev-jobs', ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }] });
    const groups = resources(t, 'AWS::EC2::SecurityGroup');
    expect(groups).toHaveLength(1);
    expect(groups[0]![1].SecurityGroupIngress).toBeUndefined();
    expect(groups[0]![1].SecurityGroupEgress).toEqual([expect.objectContaining({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443, IpProtocol: 'tcp' })]);
    expect(resources(t, 'AWS::EC2::NatGateway')).toHaveLength(0);
    const endpoints = resources(t, 'AWS::EC2::VPCEndpoint').map(([, p]) => JSON.stringify(p.ServiceName));
    expect(endpoints.some((e) => e.includes('dynamodb'))).toBe(true);
    t.hasResourceProperties('AWS::EC2::FlowLog', { ResourceType: 'VPC', TrafficType: 'REJECT' });
  });

  it("each job's role names only its own tables (scans only where the job scans), the core secret, and the master key only where it opens data keys", () => {
    const t = jobs('dev');
    const roles = Object.fromEntries(
      resources(t, 'AWS::IAM::Policy')
        .filter(([id]) => /^(Rebuild|Match|Migrate)Role/.test(id))
        .map(([id, p]) => [
          id.replace(/Role.*/, '').toLowerCase(),
          (p.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement,
        ]),
    );
    expect(Object.keys(roles).sort()).toEqual([...JOBS].sort());
    const list = <T>(x: T | T[]) => (Array.isArray(x) ? x : [x]);
    for (const job of JOBS) {
      const statements = roles[job]!;
      const tables = new Map<string, string[]>();
      for (const st of statements.filter((s) => list(s.Action).some((a) => a.startsWith('dynamodb:'))))
        for (const resource of list(st.Resource)) {
          const text = JSON.stringify(resource);
          expect(text).not.toMatch(/table\/\*|"\*"/);
          const kind = /ExportsOutputFnGetAtt(\w+?)Table/.exec(text)![1]!.toLowerCase();
          tables.set(kind, [...(tables.get(kind) ?? []), ...list(st.Action)]);
        }
      expect([...tables.keys()].sort()).toEqual(Object.keys(JOB_ACCESS[job]).sort());
      for (const [kind, actions] of tables) {
        expect(actions.includes('dynamodb:PutItem'), `${job} ${kind}`).toBe(JOB_ACCESS[job][kind as keyof (typeof JOB_ACCESS)[typeof job]] === 'readWrite');
        expect(actions.includes('dynamodb:Scan'), `${job} ${kind}`).toBe((JOB_SCANS[job] as readonly string[]).includes(kind));
      }
      const text = JSON.stringify(statements);
      expect(text.includes('MasterKey')).toBe(JOB_ACCESS[job].keys !== undefined);
      // what each job may do with the stage's keys: a read-only job only decrypts, a job that only
      // reads the key table only unwraps data keys
      const kms = (key: string) => [...new Set(statements.filter((st) => JSON.stringify(st.Resource).includes(key)).flatMap((st) => list(st.Action)))].sort();
      const writes = Object.values(JOB_ACCESS[job]).includes('readWrite');
      expect(kms('DataKey'), job).toEqual(writes ? ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'] : ['kms:Decrypt']);
      const keys = JOB_ACCESS[job].keys;
      expect(kms('MasterKey'), job).toEqual(
        keys === 'readWrite' ? ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'] : keys === 'read' ? ['kms:Decrypt'] : [],
      );
      expect(text).toContain('CoreSecret');
      expect(text).not.toContain('CredentialsSecret');
      expect(text.includes('s3:GetObject')).toBe(job === 'migrate');
      expect(text).not.toMatch(/sns:|kinesis:/);
    }
  });

  it('the tasks get secret ids, never secret values, use the real DynamoDB (no emulator) and leave the outbox alone', () => {
    for (const [, p] of resources(jobs('prod'), 'AWS::ECS::TaskDefinition')) {
      const e = env(p);
      for (const plain of ['C360_CLAIM_SECRET', 'C360_MASTER_KEY', 'C360_WRITE_KEY', 'C360_ADMIN_TOKEN', 'C360_CREDENTIALS_FILE', 'C360_CONSOLE_SESSION_KEY'])
        expect(e[plain]).toBeUndefined();
      expect(e).toMatchObject({ C360_STORE: 'dynamodb', C360_CREATE_TABLES: 'false', C360_ENGAGEMENT: 'off', C360_EVENTS_TABLE: 'c360-prod-events' });
      expect(JSON.stringify(e.C360_SECRET_ID)).toContain('CoreSecret');
      expect(JSON.stringify(e.AWS_ENDPOINT_URL_DYNAMODB)).toContain('https://dynamodb.');
      expect(e.AWS_REGION).toEqual({ Ref: 'AWS::Region' });
    }
  });

  it('outputs what `aws ecs run-task` needs: the cluster, the subnets, the security group, each task definition, the inputs bucket', () => {
    const outputs = Object.keys(jobs('staging').findOutputs('*'));
    expect(outputs).toEqual(
      expect.arrayContaining([
        'JobsCluster',
        'JobSubnets',
        'JobSecurityGroup',
        'JobInputBucket',
        'JobsLogGroup',
        ...JOBS.map((j) => `${j[0]!.toUpperCase()}${j.slice(1)}TaskDefinition`),
      ]),
    );
  });
});

describe('IAM', () => {
  // Where AWS offers no resource-level permission, "*" is the only way: X-Ray's trace writes and
  // dynamodb:ListStreams (which the streams event source mapping calls).
  // and ecr:GetAuthorizationToken, which the long jobs' execution role needs to pull the image
  const STAR_ALLOWED = new Set(['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'dynamodb:ListStreams', 'ecr:GetAuthorizationToken']);
  const statements = (t: Template) =>
    resources(t, 'AWS::IAM::Policy').flatMap(([id, p]) =>
      ((p.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement ?? []).map((s) => ({ id, ...s })),
    );
  const list = <T>(x: T | T[]) => (Array.isArray(x) ? x : [x]);

  it('in every workload and foundation stack, no statement has Resource "*" except the actions AWS gives no resource type', () => {
    const stacks = [...workloads.flatMap((w) => [w.data, w.service, w.jobs]), built.security.logArchive, built.security.tooling, built.data.lake];
    let checked = 0;
    for (const s of stacks)
      for (const st of statements(Template.fromStack(s))) {
        checked++;
        if (list(st.Resource).includes('*'))
          expect(
            list(st.Action).filter((a) => !STAR_ALLOWED.has(a)),
            `${s.stackName} ${st.id}`,
          ).toEqual([]);
      }
    expect(checked).toBeGreaterThan(20);
  });

  it("each function's use of the master key: a function that only reads the key table only unwraps data keys", () => {
    const t = service('dev');
    const masterKeyActions = (role: string) =>
      [
        ...new Set(
          statements(t)
            .filter((st) => st.id.startsWith(`${role}Role`) && JSON.stringify(st.Resource).includes('MasterKey'))
            .flatMap((st) => list(st.Action)),
        ),
      ].sort();
    for (const role of ['Api', 'Kinesis', 'Streams'])
      expect(masterKeyActions(role), role).toEqual(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*']);
    expect(masterKeyActions('Outbox')).toEqual(['kms:Decrypt']);
  });

  it("each function's table permissions name its own tables (and their indexes) by ARN, never a wildcard", () => {
    const t = service('dev');
    const table = (name: string) => name.replace(/Table.*$/, '');
    const granted = new Map<string, Set<string>>();
    for (const st of statements(t)) {
      if (!list(st.Action).some((a) => a.startsWith('dynamodb:') && a !== 'dynamodb:ListStreams')) continue;
      for (const r of list(st.Resource)) {
        const text = JSON.stringify(r);
        expect(text).not.toMatch(/table\/\*|"\*"/);
        const m = /ExportsOutputFnGetAtt(\w+?)Table(Arn|StreamArn)/.exec(text);
        if (m) granted.set(st.id.replace(/RoleDefaultPolicy.*/, ''), (granted.get(st.id.replace(/RoleDefaultPolicy.*/, '')) ?? new Set()).add(table(m[1]!)));
      }
    }
    expect(Object.fromEntries([...granted].map(([k, v]) => [k, [...v].sort()]))).toEqual({
      Api: ['Audit', 'Events', 'Keys', 'Ledger', 'Outbox', 'Quarantine', 'Views'],
      Kinesis: ['Events', 'Keys', 'Quarantine', 'Views'],
      Streams: ['Events', 'Keys', 'Outbox', 'Views'],
      Outbox: ['Events', 'Keys', 'Outbox'],
    });
  });
});

describe('accounts', () => {
  it('the organization trail (management) writes to the log archive bucket in the security account', () => {
    const trail = Template.fromStack(built.management.node.findChild('Governance') as never);
    trail.hasResourceProperties('AWS::CloudTrail::Trail', {
      IsOrganizationTrail: true,
      IsMultiRegionTrail: true,
      EnableLogFileValidation: true,
      S3BucketName: 'c360-log-archive-222222222222-eu-west-1',
    });
    Template.fromStack(built.security.logArchive).hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'c360-log-archive-222222222222-eu-west-1',
      VersioningConfiguration: { Status: 'Enabled' },
    });
  });

  it("the lake's bucket and key let the prod lake function's role in (by account, with its ARN as a condition), and no one else's", () => {
    const t = Template.fromStack(built.data.lake);
    t.hasResourceProperties('AWS::S3::Bucket', { BucketName: 'c360-lake-333333333333-eu-west-1', VersioningConfiguration: { Status: 'Enabled' } });
    const writer = { ArnEquals: { 'aws:PrincipalArn': 'arn:aws:iam::777777777777:role/c360-prod-lake' } };
    const [, bucketPolicy] = resources(t, 'AWS::S3::BucketPolicy').find(([, p]) => JSON.stringify(p).includes('c360-prod-lake'))!;
    const granted = (bucketPolicy.PolicyDocument as { Statement: { Principal?: unknown; Condition?: unknown; Action: unknown }[] }).Statement.filter((st) =>
      JSON.stringify(st.Principal ?? '').includes('777777777777'),
    );
    expect(granted.map((st) => [...(st.Action as string[])].sort())).toEqual([
      ['s3:ListBucket', 's3:ListBucketVersions'],
      ['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:GetObject', 's3:PutObject'],
    ]);
    for (const st of granted) expect(st.Condition).toEqual(writer);
    // no other workload account appears in the lake's policies
    expect(JSON.stringify(resources(t, 'AWS::S3::BucketPolicy'))).not.toMatch(/555555555555|666666666666/);
    const keyPolicy = JSON.stringify(resources(t, 'AWS::KMS::Key').map(([, p]) => p.KeyPolicy));
    expect(keyPolicy).toContain('arn:aws:iam::777777777777:role/c360-prod-lake');
    expect(keyPolicy).toContain('s3.eu-west-1.amazonaws.com');
  });

  it('only one workload may feed the lake', () => {
    const accounts = loadAccounts();
    const file = join(tempDir('c360-accounts-'), 'accounts.json');
    const lake = { tenants: ['demo'], everyMinutes: 15 };
    writeFileSync(file, JSON.stringify({ ...accounts, workloads: accounts.workloads.map((w) => ({ ...w, lake })) }));
    expect(() => loadAccounts(file)).toThrow(/workloads: only one may feed the lake \(dev, staging, prod\)/);
  });

  it("the lake keeps old versions 35 days (as PITR keeps the tables'), Athena's results a week", () => {
    const t = Template.fromStack(built.data.lake);
    t.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 35 }, Status: 'Enabled' })]) },
    });
    t.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 7, Status: 'Enabled' })]) },
    });
  });

  it('the Glue catalogue has one Parquet table per lake table, with the columns and partitions of glueTables() and partition projection', () => {
    const t = Template.fromStack(built.data.lake);
    t.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'c360_lake' } });
    const [lakeId] = Object.keys(t.findResources('AWS::S3::Bucket', { Properties: { VersioningConfiguration: { Status: 'Enabled' } } }));
    const tables = Object.fromEntries(
      resources(t, 'AWS::Glue::Table').map(([, p]) => {
        const input = p.TableInput as { Name: string } & Record<string, unknown>;
        return [input.Name, { database: p.DatabaseName, ...input }];
      }),
    );
    const expected = glueTables();
    expect(Object.keys(tables).sort()).toEqual(expected.map((g) => g.name).sort());
    // the lake writes <table>/tenant=<t>/year=<y>/month=<m>/ (lake.files.ts); month is not zero-padded
    const at = (table: string, path: string) => ({ 'Fn::Join': ['', ['s3://', { Ref: lakeId }, `/${table}/${path}`]] });
    for (const g of expected) {
      const table = tables[g.name] as Record<string, unknown>;
      const fact = g.partitionKeys.some((k) => k.name === 'year');
      expect(table).toMatchObject({
        database: 'c360_lake',
        TableType: 'EXTERNAL_TABLE',
        PartitionKeys: g.partitionKeys.map((k) => ({ Name: k.name, Type: k.type })),
        StorageDescriptor: {
          Location: at(g.name, ''),
          Columns: g.columns.map((c) => ({ Name: c.name, Type: c.type })),
          InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
          SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
        },
      });
      const parameters = table.Parameters as Record<string, unknown>;
      expect(parameters).toMatchObject({ classification: 'parquet', 'projection.enabled': 'true', 'projection.tenant.type': 'injected' });
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Athena's projection placeholders, literally
      const template = fact ? 'tenant=${tenant}/year=${year}/month=${month}/' : 'tenant=${tenant}/';
      expect(parameters['storage.location.template']).toEqual(at(g.name, template));
      if (fact)
        expect(parameters).toMatchObject({
          'projection.year.type': 'integer',
          'projection.year.range': '2000,2100',
          'projection.month.type': 'integer',
          'projection.month.range': '1,12',
        });
      else expect(parameters['projection.year.type']).toBeUndefined();
    }
    // facts and dimensions both present: the loop checked each kind
    expect(expected.filter((g) => g.partitionKeys.length === 3).length).toBeGreaterThan(0);
    expect(expected.filter((g) => g.partitionKeys.length === 1).length).toBeGreaterThan(0);
  });

  it('the security account runs GuardDuty and Security Hub with the Foundational Security Best Practices standard', () => {
    const t = Template.fromStack(built.security.tooling);
    expect(built.security.tooling.account).toBe('222222222222');
    t.hasResourceProperties('AWS::GuardDuty::Detector', {
      Enable: true,
      Features: Match.arrayWith([{ Name: 'S3_DATA_EVENTS', Status: 'ENABLED' }]),
    });
    const [hubId] = Object.keys(t.findResources('AWS::SecurityHub::Hub', { Properties: { EnableDefaultStandards: false } }));
    expect(hubId).toBeDefined();
    const standards = Object.values(t.findResources('AWS::SecurityHub::Standard')) as { Properties: { StandardsArn: unknown }; DependsOn?: string[] }[];
    expect(standards).toHaveLength(1);
    expect(JSON.stringify(standards[0]!.Properties.StandardsArn)).toContain(`::${FSBP_STANDARD}`);
    expect(standards[0]!.DependsOn).toContain(hubId);
  });

  it('the pipeline promotes dev, then staging, then prod behind a manual approval', () => {
    const t = Template.fromStack(built.pipeline);
    const [, p] = resources(t, 'AWS::CodePipeline::Pipeline')[0]!;
    const names = (p.Stages as { Name: string; Actions: { Name: string; ActionTypeId: { Category: string } }[] }[]).map((s) => s.Name);
    expect(names).toEqual(['Source', 'Build', 'UpdatePipeline', 'Assets', 'dev', 'staging', 'prod']);
    const prod = (p.Stages as { Name: string; Actions: { Name: string; ActionTypeId: { Category: string } }[] }[]).find((s) => s.Name === 'prod')!;
    expect(prod.Actions.some((a) => a.ActionTypeId.Category === 'Approval')).toBe(true);
  });

  it("the pipeline's source is accounts.json's: repository, branch and CodeStar connection", () => {
    const { source } = loadAccounts();
    const [, p] = resources(Template.fromStack(built.pipeline), 'AWS::CodePipeline::Pipeline')[0]!;
    const stages = p.Stages as { Name: string; Actions: { Configuration: Record<string, unknown> }[] }[];
    expect(stages.find((s) => s.Name === 'Source')!.Actions[0]!.Configuration).toMatchObject({
      FullRepositoryId: source.repo,
      BranchName: source.branch,
      ConnectionArn: source.connectionArn,
    });
  });

  it("publishes the assets on arm64 build hosts, so the long jobs' arm64 image builds natively (Docker there, not here)", () => {
    const projects = resources(Template.fromStack(built.pipeline), 'AWS::CodeBuild::Project').filter(([id]) => id.startsWith('PipelineAssets'));
    const docker = projects.filter(([id]) => id.includes('DockerAsset'));
    expect(docker).toHaveLength(1);
    expect(docker[0]![1].Environment).toMatchObject({ Type: 'ARM_CONTAINER', PrivilegedMode: true });
    for (const [, p] of projects) expect(p.Environment).toMatchObject({ Type: 'ARM_CONTAINER' });
  });
});
