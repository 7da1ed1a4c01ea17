import { App, type IPolicyValidationContext, type IPolicyValidationPlugin, type PolicyValidationPluginReport, type Stage, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
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

/** What the gate did in one synth: one run per stage it checked. */
export type NagGateRun = { readonly templates: number; readonly violations: number; readonly success: boolean };

/**
 * The cdk-nag pack as the validation plugin, noting each run: a passing validation prints nothing
 * of its own (the CLI's validation report lists no plugin that found nothing), so `npm run synth`
 * says from these what the gate checked.
 */
export class RecordedNagGate implements IPolicyValidationPlugin {
  readonly name: string;
  readonly version?: string | undefined;
  readonly ruleIds?: string[] | undefined;
  readonly runs: NagGateRun[] = [];

  constructor(private readonly pack: IPolicyValidationPlugin) {
    this.name = pack.name;
    this.version = pack.version;
    this.ruleIds = pack.ruleIds;
  }

  validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const report = this.pack.validate(context);
    this.runs.push({ templates: context.templatePaths.length, violations: report.violations.length, success: report.success });
    return report;
  }
}

/** How many findings are acknowledged (with a reason) on the constructs under `scope`. */
export const acknowledgedFindings = (scope: IConstruct): number =>
  scope.node
    .findAll()
    .flatMap((c) => c.node.metadata)
    .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
    .reduce((n, m) => n + Object.keys(m.data as object).length, 0);

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
  const nag = new RecordedNagGate(new AwsSolutionsChecks(app));
  Validations.of(app).addPlugins(nag);
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
  return { app, management, security, data, pipeline, nag };
};
