import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SNSClient } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { IdentityChange } from '../../src/application/ports/identity-feed.port.js';
import { IdentityFeedError, SnsIdentityFeed } from '../../src/adapters/sns/sns.identity-feed.js';

// What fauxqs cannot do: fail some entries of a PublishBatch. A small stand-in for SNS's query
// protocol on 127.0.0.1 answers PublishBatch with the failures each test scripts, and records
// which entries every request carried; the real SDK client talks to it over HTTP.

type Failure = { readonly code: string; readonly senderFault: boolean };
/** per request, the entry ids (c0, c1, ...) to fail */
let script: ((request: number) => Readonly<Record<string, Failure>>) | undefined;
let requests: string[][] = [];

const NONE: Readonly<Record<string, Failure>> = {};

const respond = (ids: readonly string[], failures: Readonly<Record<string, Failure>>): string => {
  const ok = ids.filter((id) => !failures[id]).map((id) => `<member><Id>${id}</Id><MessageId>m-${id}</MessageId></member>`);
  const failed = ids
    .filter((id) => failures[id])
    .map(
      (id) =>
        `<member><Id>${id}</Id><Code>${failures[id]!.code}</Code><SenderFault>${failures[id]!.senderFault}</SenderFault><Message>scripted</Message></member>`,
    );
  return `<PublishBatchResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishBatchResult><Successful>${ok.join('')}</Successful><Failed>${failed.join('')}</Failed></PublishBatchResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishBatchResponse>`;
};

const server: Server = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString('utf8')));
  req.on('end', () => {
    const form = new URLSearchParams(body);
    if (form.get('Action') !== 'PublishBatch') {
      res.writeHead(400).end();
      return;
    }
    const ids = [...form.entries()].filter(([k]) => /^PublishBatchRequestEntries\.member\.\d+\.Id$/.test(k)).map(([, v]) => v);
    requests.push(ids);
    res.writeHead(200, { 'content-type': 'text/xml' }).end(respond(ids, script?.(requests.length) ?? {}));
  });
});

let sns: SNSClient;
const delays: number[] = [];
const feed = (maxAttempts = 4) =>
  new SnsIdentityFeed(sns, { topicArn: 'arn:aws:sns:us-east-1:000000000000:ids', maxAttempts, sleep: async (ms) => void delays.push(ms) });
const change = (n: number): IdentityChange => ({ id: `ev-${n}`, tenant: 'acme', type: 'erased', at: n, customerId: `c-${n}`, erasureId: 'er-1' });

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  sns = new SNSClient({ endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, maxAttempts: 1 });
});
afterAll(async () => {
  sns.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  requests = [];
  delays.length = 0;
  script = undefined;
});

describe('SnsIdentityFeed retries', () => {
  it('publishes again only the entries SNS failed on its side, after a backoff', async () => {
    script = (n) => (n === 1 ? { c1: { code: 'InternalError', senderFault: false }, c3: { code: 'Throttled', senderFault: false } } : NONE);
    await feed().publish([change(0), change(1), change(2), change(3)]);
    expect(requests).toEqual([
      ['c0', 'c1', 'c2', 'c3'],
      ['c1', 'c3'],
    ]);
    expect(delays).toHaveLength(1);
  });

  it('gives up after the last attempt and throws, naming the changes left and the codes', async () => {
    script = () => ({ c0: { code: 'InternalError', senderFault: false } });
    const error = await feed(3)
      .publish([change(7), change(8)])
      .catch((e: unknown) => e);
    expect(requests).toEqual([['c0', 'c1'], ['c0'], ['c0']]);
    expect(error).toBeInstanceOf(IdentityFeedError);
    expect(error).toMatchObject({
      code: 'IDENTITY_FEED_UNAVAILABLE',
      failed: [{ id: 'ev-7', code: 'InternalError' }],
      message: expect.stringMatching(/after 3 attempts \(InternalError\); deliver them again/),
    });
    // backoff grows but stays bounded (full jitter below the cap)
    expect(delays).toHaveLength(2);
    for (const d of delays) expect(d).toBeLessThanOrEqual(2_000);
  });

  it("does not retry what SNS calls the sender's fault, and says so", async () => {
    script = () => ({ c1: { code: 'InvalidParameter', senderFault: true } });
    const error = await feed()
      .publish([change(1), change(2)])
      .catch((e: unknown) => e);
    expect(requests).toHaveLength(1);
    expect(error).toMatchObject({
      code: 'IDENTITY_FEED_REJECTED',
      failed: [{ id: 'ev-2', code: 'InvalidParameter' }],
      message: expect.stringMatching(/check the topic and its permissions/),
    });
  });

  it('stops at the first batch that cannot be published: later batches wait for the redelivery', async () => {
    script = (n) => (n === 2 ? { c4: { code: 'InternalError', senderFault: false } } : NONE);
    const changes = Array.from({ length: 25 }, (_, i) => change(i));
    await expect(feed(1).publish(changes)).rejects.toMatchObject({ code: 'IDENTITY_FEED_UNAVAILABLE', failed: [{ id: 'ev-14' }] });
    expect(requests.map((r) => r.length)).toEqual([10, 10]);
  });
});
