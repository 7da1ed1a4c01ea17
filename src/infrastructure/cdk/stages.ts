import { Stage, Tags, type StageProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { type Accounts, lakeBucketName, lakeWriterRoleName, type Workload } from './accounts.js';
import { DataStack } from './data.stack.js';
import { LakeStack, LogArchiveStack, ManagementStack } from './foundation.stacks.js';
import { JobsStack } from './jobs.stack.js';
import { SecurityToolingStack } from './security.stack.js';
import { ServiceStack } from './service.stack.js';

// One Stage per account. Workload stages (dev, staging, prod) are what the pipeline promotes; the
// foundation stages (management, security, data) change rarely and are deployed by an
// administrator of each account.

export const TRAIL_NAME = 'c360-organization-trail';
export const logArchiveBucketName = (accounts: Accounts) => `c360-log-archive-${accounts.security.account}-${accounts.security.region}`;

export type WorkloadStageProps = StageProps & {
  readonly workload: Workload;
  readonly assetsDir: string;
  readonly alarmEmail?: string | undefined;
  /** the data account, whose lake bucket a workload that feeds the lake writes to */
  readonly dataAccount?: Accounts['data'] | undefined;
};

export class WorkloadStage extends Stage {
  readonly data: DataStack;
  readonly service: ServiceStack;
  readonly jobs: JobsStack;
  constructor(scope: Construct, id: string, props: WorkloadStageProps) {
    super(scope, id, { ...props, env: { account: props.workload.account, region: props.workload.region } });
    const prefix = `c360-${props.workload.name}`;
    this.data = new DataStack(this, 'Data', { workload: props.workload, prefix, stackName: `${prefix}-data` });
    this.service = new ServiceStack(this, 'Service', {
      workload: props.workload,
      prefix,
      data: this.data,
      assetsDir: props.assetsDir,
      alarmEmail: props.alarmEmail,
      lake: props.dataAccount && { bucketName: lakeBucketName({ data: props.dataAccount }), ...props.dataAccount },
      stackName: `${prefix}-service`,
    });
    this.jobs = new JobsStack(this, 'Jobs', { workload: props.workload, prefix, data: this.data, stackName: `${prefix}-jobs` });
    Tags.of(this).add('project', 'customer360');
    Tags.of(this).add('environment', props.workload.name);
  }
}

export class SecurityStage extends Stage {
  readonly logArchive: LogArchiveStack;
  readonly tooling: SecurityToolingStack;
  constructor(scope: Construct, id: string, accounts: Accounts) {
    super(scope, id, { env: accounts.security });
    this.logArchive = new LogArchiveStack(this, 'LogArchive', {
      stackName: 'c360-log-archive',
      organizationId: accounts.organizationId,
      managementAccount: accounts.management.account,
      trailName: TRAIL_NAME,
      bucketName: logArchiveBucketName(accounts),
    });
    this.tooling = new SecurityToolingStack(this, 'Tooling', { stackName: 'c360-security-tooling' });
    Tags.of(this).add('project', 'customer360');
  }
}

export class ManagementStage extends Stage {
  constructor(scope: Construct, id: string, accounts: Accounts) {
    super(scope, id, { env: { account: accounts.management.account, region: accounts.management.region } });
    new ManagementStack(this, 'Governance', {
      stackName: 'c360-governance',
      trailName: TRAIL_NAME,
      logArchiveBucketName: logArchiveBucketName(accounts),
      monthlyBudgetUsd: accounts.management.monthlyBudgetUsd,
      alarmEmail: accounts.alarmEmail,
    });
    Tags.of(this).add('project', 'customer360');
  }
}

export class DataStage extends Stage {
  readonly lake: LakeStack;
  constructor(scope: Construct, id: string, accounts: Accounts) {
    super(scope, id, { env: accounts.data });
    this.lake = new LakeStack(this, 'Lake', {
      stackName: 'c360-lake',
      prefix: 'c360',
      bucketName: lakeBucketName(accounts),
      // the workload that feeds the lake: its lake function's role, by account and name
      writers: accounts.workloads.filter((w) => w.lake).map((w) => ({ account: w.account, roleName: lakeWriterRoleName(w) })),
    });
    Tags.of(this).add('project', 'customer360');
  }
}
