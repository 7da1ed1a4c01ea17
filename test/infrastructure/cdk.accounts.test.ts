import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ACCOUNTS_FILE, loadAccounts, placeholdersIn } from '../../src/infrastructure/cdk/accounts.js';
import { removeTempDirs, tempDir } from '../support/cdk.js';

// accounts.json, the CDK app's configuration, is read strictly: a misspelt key is refused by its
// path with the key it likely misspells (a `lake` renamed `lak` once synthesized without a word
// and without prod's lake function), and every problem of the file is named, not the first only.

afterAll(removeTempDirs);

type Json = Record<string, unknown> & { workloads: Record<string, unknown>[]; management: Record<string, unknown> };
const checkedIn = (): Json => JSON.parse(readFileSync(ACCOUNTS_FILE, 'utf8')) as Json;

const load = (accounts: unknown) => {
  const file = join(tempDir('c360-accounts-'), 'accounts.json');
  writeFileSync(file, JSON.stringify(accounts));
  return () => loadAccounts(file);
};

describe('accounts.json', () => {
  it('the checked-in file loads, with prod feeding the lake', () => {
    expect(loadAccounts().workloads.find((w) => w.name === 'prod')?.lake?.tenants).toEqual(['demo']);
  });

  it('refuses misspelt keys by path, with the key meant, and names every problem', () => {
    const accounts = checkedIn();
    const prod = accounts.workloads[2]!;
    prod.lak = prod.lake;
    delete prod.lake;
    prod.apiReservedConcurency = 5;
    accounts.management.region = 'nowhere';
    let message = '';
    try {
      load(accounts)();
    } catch (e) {
      message = (e as Error).message;
    }
    const lines = message.split('\n').map((l) => l.replace(/^.*accounts\.json: /, ''));
    expect(lines.sort()).toEqual([
      'management.region: an AWS region such as eu-west-1',
      'workloads.2.apiReservedConcurency: unknown field; did you mean apiReservedConcurrency?',
      'workloads.2.lak: unknown field; did you mean lake?',
    ]);
  });

  it('refuses unknown keys in nested objects and at the root', () => {
    const accounts = checkedIn();
    (accounts.workloads[0]!.apiThrottle as Record<string, unknown>).brust = 10;
    accounts.alarmEmial = 'ops@example.com';
    expect(load(accounts)).toThrow(/workloads\.0\.apiThrottle\.brust: unknown field; did you mean burst\?/);
    expect(load(accounts)).toThrow(/alarmEmial: unknown field; did you mean alarmEmail\?/);
  });
});

describe("the pipeline's source and the placeholders", () => {
  it('the source (repository, branch, connection) is required and checked', () => {
    const accounts = checkedIn();
    delete accounts.source;
    expect(load(accounts)).toThrow(/accounts\.json: source: /);
    expect(load({ ...checkedIn(), source: { repo: 'acme/c360', branch: 'main', connectionArn: 'not-an-arn' } })).toThrow(
      /source\.connectionArn: a CodeStar connection ARN/,
    );
  });

  it('the checked-in placeholders are each named: the source, every account id, the organization and the alarm address', () => {
    const found = placeholdersIn(loadAccounts()).map((p) => p.split(':')[0]);
    expect(found).toEqual([
      'source.repo',
      'source.connectionArn',
      'management.account',
      'security.account',
      'data.account',
      'operations.account',
      'workloads.0.account (dev)',
      'workloads.1.account (staging)',
      'workloads.2.account (prod)',
      'organizationId',
      'alarmEmail',
    ]);
  });

  it('a filled-in file has none', () => {
    const real = checkedIn();
    const ids = ['210987654321', '310987654321', '410987654321', '510987654321'];
    for (const [i, place] of (['management', 'security', 'data', 'operations'] as const).entries()) (real[place] as Record<string, unknown>).account = ids[i];
    for (const [i, w] of real.workloads.entries()) w.account = `61098765432${i}`;
    real.organizationId = 'o-a1b2c3d4e5';
    real.alarmEmail = 'ops@acme.io';
    real.source = {
      repo: 'acme/c360',
      branch: 'main',
      connectionArn: 'arn:aws:codeconnections:eu-west-1:510987654321:connection/4f1c2a9e-1111-4222-8333-944455556666',
    };
    expect(placeholdersIn(load(real)())).toEqual([]);
  });
});
