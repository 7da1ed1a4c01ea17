import { type CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Architecture, Code, Function as LambdaFunction, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { join } from 'node:path';

// One of our Lambda functions: the bundle `npm run build:lambda` makes, on nodejs22.x arm64 with
// X-Ray active and Powertools' variables set, its own log group (KMS-encrypted, retained for a
// set time) and its own role, which starts with nothing but writing to that log group. Every
// other permission is granted by name where the function is wired.

export type FunctionName = 'api' | 'kinesis' | 'streams' | 'outbox';
/** the lake function runs only in the workload that feeds the lake */
export type AnyFunctionName = FunctionName | 'lake';

export type C360FunctionProps = {
  readonly name: AnyFunctionName;
  /** a fixed role name, for a role another account's policies name (the lake function's) */
  readonly roleName?: string | undefined;
  /** a folder holding <name>/<name>.mjs and its chunks (the synth script fills it from the bundles) */
  readonly assetsDir: string;
  readonly stage: string;
  readonly key: IKey;
  readonly environment: Record<string, string>;
  readonly memoryMb?: number | undefined;
  readonly timeout?: Duration | undefined;
  readonly reservedConcurrency?: number | undefined;
  readonly production: boolean;
};

export class C360Function extends Construct {
  readonly fn: LambdaFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: C360FunctionProps) {
    super(scope, id);
    const functionName = `c360-${props.stage}-${props.name}`;
    this.logGroup = new LogGroup(this, 'Logs', {
      logGroupName: `/aws/lambda/${functionName}`,
      retention: props.production ? RetentionDays.ONE_YEAR : RetentionDays.ONE_MONTH,
      encryptionKey: props.key,
      removalPolicy: props.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.role = new Role(this, 'Role', {
      roleName: props.roleName,
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `${functionName}: its own tables, streams, topics and keys only`,
    });
    this.role.addToPolicy(
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [`${this.logGroup.logGroupArn}:*`] }),
    );
    this.fn = new LambdaFunction(this, 'Function', {
      functionName,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      code: Code.fromAsset(join(props.assetsDir, props.name)),
      handler: `${props.name}.handler`,
      memorySize: props.memoryMb ?? 1024,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      reservedConcurrentExecutions: props.reservedConcurrency,
      environmentEncryption: props.key,
      environment: {
        POWERTOOLS_SERVICE_NAME: `c360-${props.name}`,
        POWERTOOLS_METRICS_NAMESPACE: 'c360',
        POWERTOOLS_LOG_LEVEL: props.production ? 'INFO' : 'DEBUG',
        AWS_NODEJS_CONNECTION_REUSE_ENABLED: '1',
        ...props.environment,
      },
    });
    const logStreams = `Resource::<${Stack.of(this).getLogicalId(this.logGroup.node.defaultChild as CfnElement)}.Arn>:*`;
    for (const [id, reason] of [
      [logStreams, 'the log streams of its own log group: Lambda names a stream per execution environment at run time'],
      [
        'Resource::*',
        'X-Ray PutTraceSegments and PutTelemetryRecords have no resource type (AWS requires "*"); dynamodb:ListStreams likewise (streams function)',
      ],
      ['Action::kms:GenerateDataKey*', "envelope encryption under the stage's own keys (named by ARN): the data key variants"],
      ['Action::kms:ReEncrypt*', "CDK's encrypt/decrypt grant on the stage's own keys (named by ARN)"],
    ] as const)
      Validations.of(this.role).acknowledge({ id: `AwsSolutions-IAM5[${id}]`, reason });
    Validations.of(this.fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'nodejs22.x is the runtime the bundles are built for (esbuild target node22) and tested on; move with the project pin',
    });
  }
}
