import { App, type Stage, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Accounts } from './accounts.js';
import { PipelineStack } from './pipeline.stack.js';
import { DataStage, ManagementStage, SecurityStage } from './stages.js';

// The whole deployment as one CDK app: the foundation stages (management, security, data) and
// the pipeline stack (operations) whose stages are the workloads. cdk-nag's AwsSolutions pack runs
// as a validation plugin over every stage: a finding that is not acknowledged, with its reason,
// fails the synth.

export type CdkAppOptions = {
  readonly accounts: Accounts;
  /** <dir>/<function>/<function>.mjs and its chunks */
  readonly assetsDir: string;
  readonly outdir?: string | undefined;
  /** the pipeline's source; default: accounts.json's `source` */
  readonly source?: { readonly repo: string; readonly branch: string; readonly connectionArn: string } | undefined;
  /** adds to each stage as it is made (the pipeline synthesizes its stages while it is built) */
  readonly customize?: ((stage: Stage) => void) | undefined;
};

/** behaviours a new CDK project gets from `cdk init`; set here because the app has no cdk.json */
const FEATURE_FLAGS = {
  '@aws-cdk/aws-iam:minimizePolicies': true,
  '@aws-cdk/core:stackRelativeExports': true,
  '@aws-cdk/aws-lambda:recognizeLayerVersion': true,
  '@aws-cdk/aws-apigateway:disableCloudWatchRole': true,
  '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
  '@aws-cdk/aws-sns:enforceSslByDefault': true,
};

export const buildCdkApp = (options: CdkAppOptions) => {
  const app = new App({ outdir: options.outdir, context: { ...FEATURE_FLAGS, '@aws-cdk/core:bootstrapQualifier': options.accounts.qualifier } });
  // first: the pipeline synthesizes its stages while it is built, and the gate must see them
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const customize = <S extends Stage>(stage: S): S => {
    options.customize?.(stage);
    return stage;
  };
  const management = customize(new ManagementStage(app, 'Management', options.accounts));
  const security = customize(new SecurityStage(app, 'Security', options.accounts));
  const data = customize(new DataStage(app, 'Data', options.accounts));
  const pipeline = new PipelineStack(app, 'Pipeline', {
    accounts: options.accounts,
    assetsDir: options.assetsDir,
    source: options.source ?? options.accounts.source,
    stackName: 'c360-pipeline',
    customize,
  });
  return { app, management, security, data, pipeline };
};
