import { Duration } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { Alarm, ComparisonOperator, Dashboard, GraphWidget, MathExpression, Metric, TreatMissingData, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { CfnTable } from 'aws-cdk-lib/aws-dynamodb';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { C360Function, FunctionName } from './function.js';

// The pipeline's alarms, all to one topic, and one dashboard: function errors and throttles, the
// stream consumers' iterator age, DLQ depth, DynamoDB throttles, the API's 5xx and p99 latency,
// and quarantine growth from our own EMF metrics (namespace c360, dimension service).

export type ObservabilityProps = {
  readonly prefix: string;
  readonly functions: Record<FunctionName, C360Function> & { readonly lake?: C360Function | undefined };
  readonly dlqs: { readonly kinesis: Queue; readonly streams: Queue };
  readonly tables: readonly CfnTable[];
  readonly api: HttpApi;
  readonly alarmTopic: Topic;
};

const FIVE_MINUTES = Duration.minutes(5);

export class Observability extends Construct {
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const action = new SnsAction(props.alarmTopic);
    const alarm = (name: string, metric: IMetric, threshold: number, description: string) => {
      const a = new Alarm(this, name, {
        alarmName: `${props.prefix}-${name}`,
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(action);
      this.alarms.push(a);
      return a;
    };
    for (const [name, f] of Object.entries(props.functions)) {
      alarm(`${name}-errors`, f.fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }), 1, `${name}: invocations that failed`);
      alarm(`${name}-throttles`, f.fn.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' }), 1, `${name}: invocations throttled`);
    }
    const iteratorAge = (f: C360Function) => f.fn.metric('IteratorAge', { period: Duration.minutes(1), statistic: 'Maximum' });
    alarm('kinesis-iterator-age', iteratorAge(props.functions.kinesis), 60_000, 'ingest lags the Kinesis stream by a minute or more');
    alarm('streams-iterator-age', iteratorAge(props.functions.streams), 60_000, 'the views lag the events table by a minute or more');
    for (const [name, q] of Object.entries(props.dlqs))
      alarm(`${name}-dlq-depth`, q.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, statistic: 'Maximum' }), 1, `${name}: batches given up on`);
    for (const table of props.tables) {
      const throttles = new MathExpression({
        // each series has datapoints only when there were throttles: FILL makes a missing one 0,
        // else a sum has no value where one series has none (only reads, or only writes, throttled)
        expression: 'FILL(r, 0) + FILL(w, 0)',
        usingMetrics: {
          r: new Metric({ namespace: 'AWS/DynamoDB', metricName: 'ReadThrottleEvents', dimensionsMap: { TableName: table.ref }, statistic: 'Sum' }),
          w: new Metric({ namespace: 'AWS/DynamoDB', metricName: 'WriteThrottleEvents', dimensionsMap: { TableName: table.ref }, statistic: 'Sum' }),
        },
        period: FIVE_MINUTES,
        label: 'throttled requests',
      });
      alarm(`${table.node.id}-throttles`, throttles, 1, `DynamoDB throttled requests on ${table.node.id}`);
    }
    const apiId = props.api.apiId;
    const api5xx = new Metric({ namespace: 'AWS/ApiGateway', metricName: '5xx', dimensionsMap: { ApiId: apiId }, statistic: 'Sum', period: FIVE_MINUTES });
    const apiP99 = new Metric({ namespace: 'AWS/ApiGateway', metricName: 'Latency', dimensionsMap: { ApiId: apiId }, statistic: 'p99', period: FIVE_MINUTES });
    alarm('api-5xx', api5xx, 5, 'the API answered 5xx (a fault on our side; bad input is a 4xx)');
    alarm('api-p99-latency', apiP99, 1_000, 'the API p99 latency is a second or more');
    const quarantined = new MathExpression({
      // ingest_quarantined is emitted only when non-zero: FILL, as for the throttles
      expression: 'FILL(a, 0) + FILL(k, 0)',
      usingMetrics: {
        a: new Metric({ namespace: 'c360', metricName: 'ingest_quarantined', dimensionsMap: { service: 'c360-api' }, statistic: 'Sum' }),
        k: new Metric({ namespace: 'c360', metricName: 'ingest_quarantined', dimensionsMap: { service: 'c360-kinesis' }, statistic: 'Sum' }),
      },
      period: FIVE_MINUTES,
      label: 'calls quarantined',
    });
    alarm('quarantine-growth', quarantined, 100, 'a hundred or more calls quarantined in five minutes (a producer sends bad data)');

    this.dashboard = new Dashboard(this, 'Dashboard', { dashboardName: `${props.prefix}-pipeline` });
    const fns = Object.values(props.functions);
    this.dashboard.addWidgets(
      new GraphWidget({ title: 'Invocations', left: fns.map((f) => f.fn.metricInvocations({ period: FIVE_MINUTES })) }),
      new GraphWidget({ title: 'Errors', left: fns.map((f) => f.fn.metricErrors({ period: FIVE_MINUTES })) }),
      new GraphWidget({ title: 'Iterator age (ms)', left: [iteratorAge(props.functions.kinesis), iteratorAge(props.functions.streams)] }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({ title: 'API 5xx', left: [api5xx] }),
      new GraphWidget({ title: 'API p99 latency (ms)', left: [apiP99] }),
      new GraphWidget({ title: 'Quarantined calls', left: [quarantined] }),
      new GraphWidget({ title: 'DLQ depth', left: Object.values(props.dlqs).map((q) => q.metricApproximateNumberOfMessagesVisible()) }),
    );
  }
}
