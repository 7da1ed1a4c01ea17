import { describe, expectTypeOf, it } from 'vitest';
import type { Customer360, ViewDoc } from '../../../src/public/index.js';
import type { kinesisIngestHandler, SourceOf } from '../../../src/public/kinesis.js';
import type { Counters, createApiHandler, HttpLogger, httpLogger, TelemetryOptions } from '../../../src/public/lambda.js';

// The types the public functions take and return are exported beside them, so a user can name
// them (a view's type, a sourceOf function, a logger): checked by tsc (npm run typecheck) as well.

describe('types of the public API are exported where it is', () => {
  it("Customer360 is a stored view's (ViewDoc.view); SourceOf is kinesisIngestHandler's; Counters and HttpLogger the lambda module's", () => {
    expectTypeOf<Extract<ViewDoc, { kind: 'view' }>['view']>().toEqualTypeOf<Customer360>();
    expectTypeOf<Parameters<typeof kinesisIngestHandler>[1]>().toEqualTypeOf<SourceOf>();
    expectTypeOf<NonNullable<TelemetryOptions['counters']>>().toEqualTypeOf<Counters>();
    expectTypeOf<ReturnType<typeof httpLogger>>().toEqualTypeOf<HttpLogger>();
    expectTypeOf<typeof createApiHandler>().toBeFunction();
  });
});
