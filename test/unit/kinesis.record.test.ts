import { describe, expect, it } from 'vitest';
import { StaticAuthenticator } from '../../src/adapters/config/static-credentials.js';
import { decodeKinesisRecord, encodeKinesisCall, envelopeKey, type DecodedRecord } from '../../src/adapters/kinesis/kinesis.record.js';

// The Kinesis record format: our envelope, or a bare Segment call from another producer. Every
// failure comes back as a quarantine reason (never thrown), and no write key survives decoding.

const auth = new StaticAuthenticator([
  { id: 'mobile-key', tenant: 'acme', kind: 'writeKey', secret: 'wk-mobile', scopes: ['ingest'], source: 'mobile' },
  { id: 'reader-key', tenant: 'acme', kind: 'writeKey', secret: 'wk-reader', scopes: ['read'] },
]);
const bytes = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
const call = { type: 'track', userId: 'u-1', event: 'Signed Up', messageId: 'm-1' };

const failed = (d: DecodedRecord) => {
  expect(d.ok, JSON.stringify(d)).toBe(false);
  return d as Extract<DecodedRecord, { ok: false }>;
};
const decoded = (d: DecodedRecord) => {
  expect(d.ok, JSON.stringify(d)).toBe(true);
  return (d as Extract<DecodedRecord, { ok: true }>).value;
};

describe('kinesis record: our envelope', () => {
  const key = envelopeKey('a-claim-secret-of-at-least-32-characters');
  const ctx = { auth, envelopeKey: key };

  it('decodes what it encodes, tenant and source from the envelope', () => {
    const value = { tenant: 'acme', source: 'web', receivedAt: 1_767_225_600_000, call };
    expect(decoded(decodeKinesisRecord(encodeKinesisCall(value, key), ctx))).toEqual(value);
    expect(JSON.parse(new TextDecoder().decode(encodeKinesisCall(value, key)))).toMatchObject({
      c360: 1,
      sig: expect.any(String),
      tenant: 'acme',
      source: 'web',
    });
  });

  it('drops a write key left inside the enveloped call', () => {
    const data = encodeKinesisCall({ tenant: 'acme', source: 'web', call: { ...call, writeKey: 'wk-mobile' } }, key);
    expect(decoded(decodeKinesisRecord(data, ctx)).call).toEqual(call);
  });

  it('refuses an envelope of an unknown version or without a tenant', () => {
    expect(failed(decodeKinesisRecord(bytes({ c360: 2, tenant: 'acme', source: 'web', call }), ctx)).reason).toMatchObject({
      code: 'UNDECODABLE_RECORD',
      issues: [{ path: 'c360' }],
    });
    expect(failed(decodeKinesisRecord(encodeKinesisCall({ tenant: '', source: 'web', call }, key), ctx)).reason).toMatchObject({
      code: 'UNDECODABLE_RECORD',
      issues: [{ path: 'tenant' }],
    });
  });

  it('refuses an envelope that is not signed with the claim secret, under the default tenant, never the one it names', () => {
    const unsigned = failed(decodeKinesisRecord(bytes({ c360: 1, tenant: 'victim', source: 'crm', call }), { ...ctx, defaultTenant: 'acme' }));
    expect(unsigned).toMatchObject({
      ok: false,
      tenant: 'acme',
      source: 'kinesis',
      reason: { code: 'ENVELOPE_NOT_AUTHENTIC', issues: [{ path: 'sig' }] },
      raw: { tenant: 'victim', call },
    });
    expect(unsigned.reason.message).toMatch(/^the envelope is not signed: only the platform's queued intake/);
    // signed under another claim secret
    const foreign = encodeKinesisCall({ tenant: 'victim', source: 'crm', call }, envelopeKey('another-claim-secret-of-32-characters!!'));
    expect(failed(decodeKinesisRecord(foreign, ctx))).toMatchObject({ tenant: '_unassigned', reason: { code: 'ENVELOPE_NOT_AUTHENTIC' } });
    expect(failed(decodeKinesisRecord(foreign, ctx)).reason.message).toMatch(/signature does not verify/);
    // ours, with its tenant changed after it was signed
    const altered = new TextEncoder().encode(
      new TextDecoder().decode(encodeKinesisCall({ tenant: 'acme', source: 'web', call }, key)).replace('"acme"', '"victim"'),
    );
    expect(failed(decodeKinesisRecord(altered, ctx))).toMatchObject({ tenant: '_unassigned', reason: { code: 'ENVELOPE_NOT_AUTHENTIC' } });
    // a consumer without the key takes no envelope at all
    const ours = encodeKinesisCall({ tenant: 'acme', source: 'web', call }, key);
    expect(failed(decodeKinesisRecord(ours, { auth })).reason.message).toMatch(/no envelope key/);
  });
});

describe('kinesis record: a bare Segment call', () => {
  it('takes tenant and source from the write key, and never passes the key on', () => {
    const value = decoded(decodeKinesisRecord(bytes({ ...call, writeKey: 'wk-mobile' }), { auth, defaultTenant: 'other' }));
    expect(value).toEqual({ tenant: 'acme', source: 'mobile', call });
  });

  it('quarantines an unknown write key under the default tenant, without the key', () => {
    const d = failed(decodeKinesisRecord(bytes({ ...call, writeKey: 'wk-stolen' }), { auth, defaultTenant: 'acme' }));
    expect(d).toMatchObject({ tenant: 'acme', reason: { code: 'UNKNOWN_WRITE_KEY', issues: [{ path: 'writeKey' }] } });
    expect(d.raw).toEqual(call);
    expect(JSON.stringify(d)).not.toContain('wk-stolen');
  });

  it('refuses a write key that may not ingest', () => {
    expect(failed(decodeKinesisRecord(bytes({ ...call, writeKey: 'wk-reader' }), { auth })).reason.code).toBe('UNKNOWN_WRITE_KEY');
  });

  it('uses the configured tenant when the call has no write key, and quarantines it when there is none', () => {
    expect(decoded(decodeKinesisRecord(bytes(call), { auth, defaultTenant: 'acme', defaultSource: 'crm' }))).toEqual({ tenant: 'acme', source: 'crm', call });
    const d = failed(decodeKinesisRecord(bytes(call), { auth }));
    expect(d).toMatchObject({ tenant: '_unassigned', source: 'kinesis', reason: { code: 'UNKNOWN_TENANT' }, raw: call });
  });
});

describe('kinesis record: unreadable data', () => {
  it('keeps text that is not JSON as text', () => {
    const d = failed(decodeKinesisRecord(bytes('{"type": "track", oops'), { auth, defaultTenant: 'acme' }));
    expect(d).toMatchObject({ tenant: 'acme', reason: { code: 'UNDECODABLE_RECORD' }, raw: '{"type": "track", oops' });
  });

  it('keeps binary data base64-encoded', () => {
    const data = new Uint8Array([0xff, 0xfe, 0x00, 0x81, 0x42]);
    const d = failed(decodeKinesisRecord(data, { auth }));
    expect(d).toMatchObject({ tenant: '_unassigned', reason: { code: 'UNDECODABLE_RECORD' } });
    expect(Buffer.from(d.raw as string, 'base64')).toEqual(Buffer.from(data));
  });

  it('refuses a call holding a lone surrogate as BODY_NOT_UTF8 naming its path, under the tenant it was sent for', () => {
    const bare = failed(decodeKinesisRecord(bytes('{"type":"identify","userId":"u-1","writeKey":"wk-mobile","traits":{"name":"x\\ud800y"}}'), { auth }));
    expect(bare).toMatchObject({
      tenant: 'acme',
      source: 'mobile',
      reason: { code: 'BODY_NOT_UTF8', issues: [{ path: 'traits.name' }] },
      raw: { type: 'identify', userId: 'u-1', traits: { name: 'x\ud800y' } },
    });
    const enveloped = failed(
      decodeKinesisRecord(
        encodeKinesisCall({ tenant: 'acme', source: 'web', call: { ...call, userId: '\udc00' } }, envelopeKey('a-claim-secret-of-at-least-32-characters')),
        { auth, envelopeKey: envelopeKey('a-claim-secret-of-at-least-32-characters') },
      ),
    );
    expect(enveloped).toMatchObject({ tenant: 'acme', source: 'web', reason: { code: 'BODY_NOT_UTF8', issues: [{ path: 'userId' }] } });
    // a surrogate pair is one well-formed character
    expect(decoded(decodeKinesisRecord(bytes({ ...call, userId: 'u-\ud83d\ude00' }), { auth, defaultTenant: 'acme' })).call).toMatchObject({ userId: 'u-😀' });
  });

  it('refuses a call holding a number that overflows a double (1e400) naming its path, as the HTTP API does', () => {
    const d = failed(decodeKinesisRecord(bytes('{"type":"track","userId":"u-1","event":"E","writeKey":"wk-mobile","properties":{"score":1e400}}'), { auth }));
    expect(d).toMatchObject({
      tenant: 'acme',
      reason: { code: 'VALIDATION_FAILED', issues: [{ path: 'properties.score', message: 'must be a finite number' }] },
    });
  });

  it('masks the write keys in text that is not JSON, as the HTTP API keeps such a body', () => {
    const d = failed(decodeKinesisRecord(bytes('{"type": "track", "writeKey": "wk-mobile", oops'), { auth, defaultTenant: 'acme' }));
    expect(d.raw).toBe('{"type": "track", "writeKey": "*********", oops');
    const binary = failed(decodeKinesisRecord(Buffer.concat([Buffer.from([0xff]), Buffer.from('"writeKey":"wk-mobile"')]), { auth }));
    expect(Buffer.from(binary.raw as string, 'base64').toString('latin1')).toBe('\xff"writeKey":"*********"');
  });

  it('keeps a refused record larger than 64 KB as an excerpt: its first 64 KB and its size, write keys masked', () => {
    const text = `{"writeKey":"wk-mobile","oops ${'x'.repeat(200_000)}`;
    const d = failed(decodeKinesisRecord(bytes(text), { auth, defaultTenant: 'acme' }));
    expect(d.raw).toEqual({ bytes: text.length, kept: 64 * 1024, text: `{"writeKey":"*********"${text.slice(23, 64 * 1024)}` });
    expect(d.reason.message.endsWith(`; the record is ${text.length} bytes; its first 65536 are kept`)).toBe(true);
    // a write key the excerpt cuts short is masked too
    const cut = `${' '.repeat(64 * 1024 - 16)}"writeKey":"wk-mobile" and more ${'y'.repeat(100_000)}`;
    const excerpt = failed(decodeKinesisRecord(bytes(cut), { auth })).raw as { text: string };
    expect(excerpt.text.endsWith('"writeKey":"****')).toBe(true);
    // binary: the kept bytes exactly, base64-encoded
    const binary = new Uint8Array(300_000).fill(0xff);
    expect(failed(decodeKinesisRecord(binary, { auth })).raw).toMatchObject({
      bytes: 300_000,
      kept: 64 * 1024,
      base64: Buffer.alloc(64 * 1024, 0xff).toString('base64'),
    });
    // a call too large, parsed: the excerpt of its bytes, never the whole call
    const large = { ...call, writeKey: 'wk-mobile', properties: { blob: 'z'.repeat(100_000) } };
    const tooLarge = failed(decodeKinesisRecord(bytes(large), { auth }));
    expect(tooLarge).toMatchObject({ tenant: 'acme', reason: { code: 'CALL_TOO_LARGE' }, raw: { bytes: JSON.stringify(large).length, kept: 64 * 1024 } });
    expect(JSON.stringify(tooLarge.raw)).not.toContain('wk-mobile');
  });

  it('decodes a record whose bytes sit inside a larger buffer', () => {
    const whole = bytes(`xx${JSON.stringify(call)}yy`);
    expect(decoded(decodeKinesisRecord(whole.subarray(2, whole.length - 2), { auth, defaultTenant: 'acme' })).call).toEqual(call);
  });
});
