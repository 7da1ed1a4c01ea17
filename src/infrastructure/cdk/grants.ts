import type { CfnTable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, type IRole } from 'aws-cdk-lib/aws-iam';
import type { TableNames } from '../../adapters/dynamodb/dynamodb.tables.js';

// Table permissions by name: the table's ARN and each of its indexes' ARNs (from the shared
// definitions), never a wildcard.

const indexesOf = (table: CfnTable): string[] => ((table.globalSecondaryIndexes ?? []) as CfnTable.GlobalSecondaryIndexProperty[]).map((i) => i.indexName);

export const READ = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem', 'dynamodb:DescribeTable'];
export const WRITE = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];

/** a role's access to each table it may touch */
export type TableAccess = Partial<Record<keyof TableNames, 'read' | 'readWrite'>>;

/** options.scan: also dynamodb:Scan (the long jobs page through whole tables; the functions never do) */
export const grantTable = (role: IRole, table: CfnTable, access: 'read' | 'readWrite', options: { scan?: boolean } = {}): void => {
  const read = options.scan ? [...READ, 'dynamodb:Scan'] : READ;
  role.addToPrincipalPolicy(
    new PolicyStatement({
      actions: access === 'read' ? read : [...read, ...WRITE],
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
