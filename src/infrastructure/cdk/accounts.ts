import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { closestName } from '../../domain/shared/names.js';

// The accounts the platform deploys to (accounts.json, checked in): one Stage per entry. The
// layout follows a multi-account organization: management (billing, Organizations), security
// (the log archive and security tooling), data (the lake and Athena), operations (the pipeline,
// alarms' fan-in), and one workload account per environment (dev, staging, prod).

const AccountId = z.string().regex(/^\d{12}$/, 'a 12-digit AWS account id');
const Region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as eu-west-1');
// Every object is strict: a key it does not take (`lak` for `lake`, `apiReservedConcurency`) is
// refused by its path with the key it likely misspells, rather than ignored (a misspelt `lake`
// silently dropped the lake function). Each object's unknown keys are checked whatever else is
// wrong with it or beside it, so the error lists every problem of the file.
const strictFields = <S extends z.ZodRawShape>(shape: S) => {
  const known = Object.keys(shape);
  return z.looseObject(shape).superRefine(
    (value, ctx) => {
      if (typeof value !== 'object' || value === null) return;
      for (const key of Object.keys(value))
        if (!known.includes(key)) {
          const meant = closestName(key, known);
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: meant ? `unknown field; did you mean ${meant}?` : `unknown field; the fields are ${known.join(', ')}`,
          });
        }
    },
    { when: () => true },
  );
};
const place = { account: AccountId, region: Region };
const Place = strictFields(place);

const workload = {
  ...place,
  name: z.string().regex(/^[a-z][a-z0-9]{1,15}$/, 'lower-case letters and digits'),
  /** deletion protection, retained resources, longer log retention */
  production: z.boolean(),
  /** 0: none (a new account's concurrency quota may be too small to reserve any) */
  apiReservedConcurrency: z.number().int().min(0),
  apiThrottle: strictFields({ rate: z.number().positive(), burst: z.number().int().positive() }),
  /**
   * This workload's log feeds the analytics lake in the data account: its lake function catches
   * these tenants up on a schedule. At most one workload does (they would write the same tables).
   */
  lake: strictFields({
    tenants: z.array(z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a tenant id: lower-case letters, digits and dashes')).min(1),
    everyMinutes: z.number().int().min(5).max(60),
  }).optional(),
};
export const Workload = strictFields(workload);
export type Workload = z.infer<typeof Workload>;

export const Accounts = strictFields({
  /** a note for whoever edits the file; not read */
  $comment: z.string().optional(),
  /** the CDK bootstrap qualifier: every account is bootstrapped with it */
  qualifier: z.string().regex(/^[a-z0-9]{1,10}$/),
  homeRegion: Region,
  management: strictFields({ ...place, monthlyBudgetUsd: z.number().positive() }),
  security: Place,
  data: Place,
  operations: Place,
  workloads: z.array(Workload).min(1),
  organizationId: z.string().regex(/^o-[a-z0-9]{10,32}$/),
  alarmEmail: z.email().optional(),
  /** what the pipeline (operations account) builds from: a GitHub (or GitLab, Bitbucket) repository read through a CodeStar connection */
  source: strictFields({
    /** owner/name */
    repo: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'owner/name of the repository'),
    branch: z.string().min(1),
    /** the connection's ARN (Developer Tools > Connections), in the operations account */
    connectionArn: z.string().regex(/^arn:aws:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection\/[0-9a-f-]+$/, 'a CodeStar connection ARN'),
  }),
});
export type Accounts = z.infer<typeof Accounts>;

/** the values accounts.json is checked in with, which name no real repository, connection or account */
const isPlaceholderAccount = (account: string): boolean => /^(\d)\1{11}$/.test(account);
const PLACEHOLDER_REPO = 'example-org/customer360-core';
const PLACEHOLDER_CONNECTION = /connection\/0{8}-0{4}-0{4}-0{4}-0{12}$/;

/**
 * What in `accounts` is still a placeholder of the checked-in file, each as `path: why`. The app
 * synthesizes with them (the tests do), but the pipeline would read no repository of yours and
 * every stage would target an account nobody owns: `npm run synth` prints them as a warning.
 */
export const placeholdersIn = (accounts: Accounts): string[] => {
  const found: string[] = [];
  if (accounts.source.repo === PLACEHOLDER_REPO)
    found.push(`source.repo: ${PLACEHOLDER_REPO} is the example repository; the pipeline would build from it, not from yours`);
  if (PLACEHOLDER_CONNECTION.test(accounts.source.connectionArn))
    found.push('source.connectionArn: connection/00000000-... is no connection; create one (Developer Tools > Connections) in the operations account');
  const places: [string, string][] = [
    ['management.account', accounts.management.account],
    ['security.account', accounts.security.account],
    ['data.account', accounts.data.account],
    ['operations.account', accounts.operations.account],
    ...accounts.workloads.map((w, i): [string, string] => [`workloads.${i}.account (${w.name})`, w.account]),
  ];
  for (const [path, account] of places) if (isPlaceholderAccount(account)) found.push(`${path}: ${account} is a placeholder account id`);
  if (accounts.organizationId === 'o-exampleorgid') found.push('organizationId: o-exampleorgid is a placeholder');
  if (accounts.alarmEmail?.endsWith('@example.com')) found.push(`alarmEmail: ${accounts.alarmEmail} is a placeholder address; alarms would go nowhere`);
  return found;
};

export const ACCOUNTS_FILE = new URL('./accounts.json', import.meta.url);

export const loadAccounts = (file: URL | string = ACCOUNTS_FILE): Accounts => {
  const parsed = Accounts.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  // every problem, each by its path: a file with a misspelt key and a bad value names both
  if (!parsed.success) throw new Error(parsed.error.issues.map((issue) => `${String(file)}: ${issue.path.join('.') || '(root)'}: ${issue.message}`).join('\n'));
  const names = parsed.data.workloads.map((w) => w.name);
  if (new Set(names).size !== names.length) throw new Error(`${String(file)}: workloads: names must be unique (${names.join(', ')})`);
  const feeding = parsed.data.workloads.filter((w) => w.lake).map((w) => w.name);
  if (feeding.length > 1) throw new Error(`${String(file)}: workloads: only one may feed the lake (${feeding.join(', ')})`);
  return parsed.data;
};

/** The analytics lake's bucket, in the data account (named, so that a workload account can be granted it). */
export const lakeBucketName = (accounts: Pick<Accounts, 'data'>): string => `c360-lake-${accounts.data.account}-${accounts.data.region}`;
export const LAKE_KEY_ALIAS = 'alias/c360-lake';
/** the lake function's role, named so that the data account's bucket and key policies can name it */
export const lakeWriterRoleName = (workload: Pick<Workload, 'name'>): string => `c360-${workload.name}-lake`;
