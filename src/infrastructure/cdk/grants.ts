import type { CfnTable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, type IRole } from 'aws-cdk-lib/aws-iam';

// Table permissions by name: the table's ARN and each of its indexes' ARNs (from the shared
// definitions), never a wildcard.

const indexesOf = (table: CfnTable): string[] => ((table.globalSecondaryIndexes ?? []) as CfnTable.GlobalSecondaryIndexProperty[]).map((i) => i.indexName);

const READ = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem', 'dynamodb:DescribeTable'];
const WRITE = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];

export const grantTable = (role: IRole, table: CfnTable, access: 'read' | 'readWrite'): void => {
  role.addToPrincipalPolicy(
    new PolicyStatement({
      actions: access === 'read' ? READ : [...READ, ...WRITE],
      resources: [table.attrArn, ...indexesOf(table).map((name) => `${table.attrArn}/index/${name}`)],
    }),
  );
};

/**
 * The events table's stream for its event source mapping. dynamodb:ListStreams has no resource
 * type (AWS: "Resources: *" only), so it is the one statement here on "*".
 */
export const grantTableStream = (role: IRole, table: CfnTable): void => {
  role.addToPrincipalPolicy(
    new PolicyStatement({ actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'], resources: [table.attrStreamArn] }),
  );
  role.addToPrincipalPolicy(new PolicyStatement({ actions: ['dynamodb:ListStreams'], resources: ['*'] }));
};
