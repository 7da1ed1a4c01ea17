import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { CfnDetector } from 'aws-cdk-lib/aws-guardduty';
import { CfnHub, CfnStandard } from 'aws-cdk-lib/aws-securityhub';
import type { Construct } from 'constructs';

// Security tooling in the security account: a GuardDuty detector (with S3 data events, for the
// lake and the log archive, and Lambda network activity) and Security Hub with the AWS Foundational
// Security Best Practices standard. The management account then delegates both services'
// administration to this account, which turns them on in every member account (README, Deploy):
// findings of the whole organization land here, beside the log archive.

export const FSBP_STANDARD = 'standards/aws-foundational-security-best-practices/v/1.0.0';

export class SecurityToolingStack extends Stack {
  readonly detector: CfnDetector;
  readonly hub: CfnHub;
  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, { ...props, terminationProtection: true });
    this.detector = new CfnDetector(this, 'Detector', {
      enable: true,
      findingPublishingFrequency: 'FIFTEEN_MINUTES',
      features: [
        { name: 'S3_DATA_EVENTS', status: 'ENABLED' },
        { name: 'LAMBDA_NETWORK_LOGS', status: 'ENABLED' },
      ],
    });
    // the standards are chosen here, not left to Security Hub's defaults (which also turn on CIS)
    this.hub = new CfnHub(this, 'Hub', { enableDefaultStandards: false, controlFindingGenerator: 'SECURITY_CONTROL', autoEnableControls: true });
    const standard = new CfnStandard(this, 'FoundationalBestPractices', {
      standardsArn: `arn:${this.partition}:securityhub:${this.region}::${FSBP_STANDARD}`,
    });
    standard.addResourceDependency(this.hub);
    new CfnOutput(this, 'GuardDutyDetectorId', { value: this.detector.ref });
  }
}
