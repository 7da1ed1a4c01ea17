import { Stack, type StackProps } from 'aws-cdk-lib';
import { ComputeType, LinuxArmBuildImage } from 'aws-cdk-lib/aws-codebuild';
import { CodePipeline, CodePipelineSource, ManualApprovalStep, ShellStep } from 'aws-cdk-lib/pipelines';
import type { Construct } from 'constructs';
import type { Accounts } from './accounts.js';
import { acknowledgePipelineFindings } from './nag.js';
import { WorkloadStage } from './stages.js';

// The promotion pipeline, in the operations account: it synthesizes the app once, then deploys
// that same cloud assembly to dev, staging and prod in order, with a manual approval before prod.
// Cross-account deployment uses only the CDK bootstrap roles of each target account (bootstrapped
// with --trust <operations account>): no other cross-account role exists.

export type PipelineProps = StackProps & {
  readonly accounts: Accounts;
  readonly assetsDir: string;
  /** owner/repo and branch of the source, and the CodeStar connection that reads it */
  readonly source: { readonly repo: string; readonly branch: string; readonly connectionArn: string };
  readonly customize?: ((stage: WorkloadStage) => void) | undefined;
};

export class PipelineStack extends Stack {
  readonly pipeline: CodePipeline;
  readonly stages: WorkloadStage[] = [];
  constructor(scope: Construct, id: string, props: PipelineProps) {
    super(scope, id, { ...props, env: props.accounts.operations });
    this.pipeline = new CodePipeline(this, 'Pipeline', {
      pipelineName: 'c360-promotion',
      crossAccountKeys: true,
      enableKeyRotation: true,
      // assets are published on arm64 build hosts: the long jobs' image (arm64) builds natively there
      assetPublishingCodeBuildDefaults: { buildEnvironment: { buildImage: LinuxArmBuildImage.AMAZON_LINUX_2023_STANDARD_3_0, computeType: ComputeType.SMALL } },
      synth: new ShellStep('Synth', {
        input: CodePipelineSource.connection(props.source.repo, props.source.branch, { connectionArn: props.source.connectionArn }),
        env: { CDK_DISABLE_CLI_TELEMETRY: 'true' },
        commands: ['npm ci', 'npm run synth'],
        primaryOutputDirectory: 'cdk.out',
      }),
    });
    for (const workload of props.accounts.workloads) {
      const stage = new WorkloadStage(this, workload.name, {
        workload,
        assetsDir: props.assetsDir,
        alarmEmail: props.accounts.alarmEmail,
        dataAccount: props.accounts.data,
      });
      props.customize?.(stage);
      this.stages.push(stage);
      this.pipeline.addStage(stage, workload.production ? { pre: [new ManualApprovalStep(`promote-to-${workload.name}`)] } : {});
    }
    // the pipeline's resources are generated when it is built (at synth): build it now, then acknowledge
    this.pipeline.buildPipeline();
    acknowledgePipelineFindings(this.pipeline);
  }
}
