import { createRequire } from 'node:module';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

// One esbuild bundle per Lambda function: dist/lambda/<name>.mjs exporting `handler` (ESM, node22
// syntax, runs on node22), minified, with what it imports lazily in chunks under dist/lambda/<name>/
// (deploy the entry with its folder), a size report and a budget per function: exit 1 when a
// function is over it. Run: tsx scripts/build-lambda.ts [--out dir] [--sourcemap] [--no-minify]

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MB = 1_000_000;
const requireFromRoot = createRequire(join(ROOT, 'package.json'));

export type LambdaFunction = {
  readonly name: string;
  readonly entry: string;
  readonly budgetBytes: number;
  /** queues calls on Kinesis in C360_INGEST_MODE=async (the API only) */
  readonly asyncIngest: boolean;
  /** inputs that must not land in any of the function's files: the build fails naming them */
  readonly forbidden: readonly RegExp[];
};

/** A function that serves no HTTP requests carries neither Hono nor the routes and their schemas. */
const NO_HTTP = [/[\\/]adapters[\\/]http[\\/]/, /node_modules[\\/](hono|@hono[\\/][^\\/]+|@asteasolutions[\\/]zod-to-openapi)[\\/]/];

/** Only the lake function writes the lake: the others carry no lake adapter, no Parquet library, no S3 client. */
const NO_LAKE = [
  /[\\/]adapters[\\/]lake[\\/]/,
  /[\\/]infrastructure[\\/]lake\.ts$/,
  /node_modules[\\/](@duckdb|hyparquet|hyparquet-writer|@aws-sdk[\\/]client-s3)[\\/]/,
];
/** Never used by any function: a stub stands in for it (see the zod-without-from-json-schema plugin). */
const NEVER = [/node_modules[\\/]zod[\\/]v4[\\/]classic[\\/]from-json-schema\.js$/];
/** The lake function writes with the pure-JS writer: DuckDB (a native engine of tens of MB) and its writer stay out. */
const NO_DUCKDB = [/node_modules[\\/]@duckdb[\\/]/, /[\\/]adapters[\\/]lake[\\/]duckdb\./, /[\\/]infrastructure[\\/]lake\.ts$/];

export const FUNCTIONS: readonly LambdaFunction[] = [
  { name: 'api', entry: 'src/infrastructure/lambda/api.ts', budgetBytes: 1.55 * MB, asyncIngest: true, forbidden: [...NEVER, ...NO_LAKE] },
  { name: 'kinesis', entry: 'src/infrastructure/lambda/kinesis.ts', budgetBytes: 1_150_000, asyncIngest: false, forbidden: [...NEVER, ...NO_HTTP, ...NO_LAKE] },
  { name: 'streams', entry: 'src/infrastructure/lambda/streams.ts', budgetBytes: 1_150_000, asyncIngest: false, forbidden: [...NEVER, ...NO_HTTP, ...NO_LAKE] },
  { name: 'outbox', entry: 'src/infrastructure/lambda/outbox.ts', budgetBytes: 1_150_000, asyncIngest: false, forbidden: [...NEVER, ...NO_HTTP, ...NO_LAKE] },
  { name: 'lake', entry: 'src/infrastructure/lambda/lake.ts', budgetBytes: 1.5 * MB, asyncIngest: false, forbidden: [...NEVER, ...NO_HTTP, ...NO_DUCKDB] },
];

export type BundleReport = {
  readonly name: string;
  /** the entry point: <outDir>/<name>.mjs; the function's lazily loaded chunks are in <outDir>/<name>/ */
  readonly file: string;
  /** everything the function ships: the entry and all its chunks */
  readonly bytes: number;
  /**
   * the entry and the chunks it imports statically: compiled before its first line runs. What it
   * then imports at start-up (the configured store's chunk) comes on top: bench/cold-start.ts reports both.
   */
  readonly startBytes: number;
  /** the output files (relative to outDir) and their sizes; `start`: among startBytes */
  readonly files: readonly { readonly path: string; readonly bytes: number; readonly start: boolean }[];
  readonly budgetBytes: number;
  readonly withinBudget: boolean;
  /** the biggest contributors to startBytes, by package (or src/) and by input file */
  readonly packages: readonly { readonly name: string; readonly bytes: number }[];
  readonly inputs: readonly { readonly path: string; readonly bytes: number }[];
};

export type BuildOptions = {
  readonly outDir?: string | undefined;
  readonly sourcemap?: boolean | undefined;
  /** default true; false keeps names readable in a CPU profile */
  readonly minify?: boolean | undefined;
};

// CJS dependencies call require() for node builtins; an ESM bundle has none unless given one.
const BANNER = "import { createRequire as __c360CreateRequire } from 'node:module'; const require = __c360CreateRequire(import.meta.url);";

/** The OpenAPI document, generated once here instead of on the api function's first request. */
export const generateOpenApi = async (): Promise<object> => {
  const { buildApp } = await import('../src/infrastructure/app.js');
  const { loadConfig } = await import('../src/infrastructure/config.js');
  const { createHttpApp, generateOpenApiDocument } = await import('../src/adapters/http/app.js');
  const app = await buildApp(loadConfig({ C360_STORE: 'memory' }));
  try {
    const { core, intake, auth, sourceOf, metrics } = app;
    return generateOpenApiDocument(createHttpApp({ core, intake, auth, sourceOf, metrics, now: Date.now }));
  } finally {
    await app.close();
  }
};

/** The node:zlib functions the bundled modules call (see lazy-node-zlib). */
const ZLIB_FUNCTIONS = ['crc32', 'gzipSync', 'gunzipSync', 'zstdCompressSync', 'zstdDecompressSync'] as const;

const plugins = (openApi: object): esbuild.Plugin[] => [
  {
    name: 'inline-openapi',
    setup(build) {
      build.onLoad({ filter: /[\\/]infrastructure[\\/]lambda[\\/]openapi-document\.ts$/ }, () => ({
        // a string for JSON.parse: cheaper to compile and build than the same object as a literal
        contents: `export const openApiDocument = JSON.parse(${JSON.stringify(JSON.stringify(openApi))});`,
        loader: 'js',
      }));
    },
  },
  {
    // libphonenumber-js's metadata as a JSON string parsed on the first phone number, instead of an
    // 80 kB object literal compiled and built at every cold start (src/domain/identity/phone-metadata.ts)
    name: 'lazy-phone-metadata',
    setup(build) {
      build.onLoad({ filter: /[\\/]domain[\\/]identity[\\/]phone-metadata\.ts$/ }, async () => {
        const json = await readFile(requireFromRoot.resolve('libphonenumber-js/metadata.min.json'), 'utf8');
        return {
          contents: `let metadata; export const phoneMetadata = () => (metadata ??= JSON.parse(${JSON.stringify(JSON.stringify(JSON.parse(json)))}));`,
          loader: 'js',
        };
      });
    },
  },
  {
    // The local DynamoDB Streams poller (with its Streams client) projects for `npm start` on
    // DynamoDB, started by App.startBackground, which no function calls: on AWS the streams
    // function is the projector, fed by its event source mapping. About 18 kB of every bundle.
    name: 'without-local-streams-poller',
    setup(build) {
      build.onResolve({ filter: /^\.\/dynamodb\.poller\.js$/ }, (args) =>
        /[\\/]infrastructure[\\/]stores[\\/]/.test(args.importer) ? { path: args.path, namespace: 'poller-stub' } : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: 'poller-stub' }, () => ({
        contents:
          "const e = new Error('the local DynamoDB Streams poller runs with npm start, not in a Lambda function (the streams function projects there)'); e.name = 'ConfigError'; throw e;",
        loader: 'js',
      }));
    },
  },
  {
    // The Lambda functions run on DynamoDB (docs/architecture.md, runtime shapes). EventStoreDB's gRPC client
    // would add about 1.1 MB that no function uses; with C360_STORE=eventstoredb the start fails
    // with this message instead.
    name: 'without-eventstoredb',
    setup(build) {
      build.onResolve({ filter: /[\\/]eventstoredb[\\/]eventstoredb\.(client|event-store)\.js$/ }, (args) => ({ path: args.path, namespace: 'esdb-stub' }));
      build.onLoad({ filter: /.*/, namespace: 'esdb-stub' }, () => ({
        contents: [
          // loaded (its own chunk) only when the container is configured for it: the start fails
          "const unsupported = new Error('C360_STORE: eventstoredb is not available in the Lambda bundles (built without its gRPC client); use C360_STORE=dynamodb');",
          "unsupported.name = 'ConfigError';",
          'throw unsupported;',
          'export const createEventStoreDbClient = undefined;',
          'export const disposeWithin = undefined;',
          'export class EventStoreDbEventStore {}',
        ].join('\n'),
        loader: 'js',
      }));
    },
  },
  {
    // In Lambda the runtime hands the function role's credentials over in AWS_ACCESS_KEY_ID,
    // AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN; the default chain's SSO, profile-file, process,
    // web-identity and IMDS providers can never apply there and cost about 90 kB (STS/SSO clients).
    name: 'lambda-credentials-from-env',
    setup(build) {
      build.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, () => ({ path: 'credential-provider-node', namespace: 'lambda-credentials' }));
      build.onLoad({ filter: /.*/, namespace: 'lambda-credentials' }, () => ({
        contents: "import { fromEnv } from '@aws-sdk/credential-provider-env'; export const defaultProvider = (init = {}) => fromEnv(init);",
        loader: 'js',
        resolveDir: ROOT,
      }));
    },
  },
  {
    // The SDK's browser user-agent parser (bowser, 34 kB) is imported dynamically by a code path that
    // only browsers take; with code splitting it would still ship as a chunk of its own.
    name: 'without-bowser',
    setup(build) {
      build.onResolve({ filter: /^bowser$/ }, () => ({ path: 'bowser', namespace: 'bowser-stub' }));
      build.onLoad({ filter: /.*/, namespace: 'bowser-stub' }, () => ({
        contents: "throw new Error('bowser (the AWS SDK browser user-agent parser) is not in the Lambda bundles: Node never needs it');",
        loader: 'js',
      }));
    },
  },
  {
    // The SDK's HTTP handler module also holds its HTTP/2 handler, which reads node:http2 at import
    // time; no client here uses HTTP/2. node:http2 (and what it pulls in) is loaded when first used
    // instead of at every cold start.
    name: 'lazy-node-http2',
    setup(build) {
      build.onResolve({ filter: /^(node:)?http2$/ }, (args) =>
        /[\\/]@smithy[\\/]node-http-handler[\\/]/.test(args.importer) ? { path: 'http2', namespace: 'lazy-http2' } : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: 'lazy-http2' }, () => ({
        contents: [
          "import { createRequire } from 'node:module';",
          'let http2;',
          "const load = () => (http2 ??= createRequire(import.meta.url)('node:http2'));",
          'const lazy = (of) => new Proxy({}, { get: (_, key) => of()[key], has: (_, key) => key in of() });',
          'export default { get constants() { return lazy(() => load().constants); }, connect: (...args) => load().connect(...args) };',
        ].join('\n'),
        loader: 'js',
      }));
    },
  },
  {
    // node:zlib (and the stream modules it loads) only compresses and decompresses: a quarantined
    // payload (dynamodb.quarantine.ts, encrypted-quarantine.ts), the lake's Parquet pages, an event
    // stream's CRC32 (the SDK; no function here reads one). Their modules import it at the top
    // level, so every cold start loaded it (about 3 ms of CPU): it is loaded on the first call
    // instead. The SDK's CRC32 module checks that zlib.crc32 exists (Node 22.2 and later): it does
    // on the node22 runtime, and here the check sees the function that loads it.
    name: 'lazy-node-zlib',
    setup(build) {
      build.onResolve({ filter: /^(node:)?zlib$/ }, (args) => (args.kind === 'import-statement' ? { path: 'zlib', namespace: 'lazy-zlib' } : undefined));
      build.onLoad({ filter: /.*/, namespace: 'lazy-zlib' }, () => ({
        contents: [
          "import { createRequire } from 'node:module';",
          'let zlib;',
          "const load = () => (zlib ??= createRequire(import.meta.url)('node:zlib'));",
          // only what the bundled modules call: another name fails the build ("No matching export")
          ...ZLIB_FUNCTIONS.map((name) => `export const ${name} = (...args) => load().${name}(...args);`),
        ].join('\n'),
        loader: 'js',
      }));
    },
  },
  {
    // The SDK's user agent reads env and versions from `import ... from "node:process"`. Node builds
    // that module's namespace by reading every property of process, getters included, which loads
    // and compiles the modules behind some of them (process.report's, ...): some 5 ms of CPU measured
    // alone, at every cold start, for two objects that the global process holds.
    name: 'node-process-from-global',
    setup(build) {
      build.onResolve({ filter: /^(node:)?process$/ }, (args) =>
        /[\\/]node_modules[\\/]/.test(args.importer) && args.kind === 'import-statement' ? { path: 'process', namespace: 'process-global' } : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: 'process-global' }, () => ({
        // only what the bundled modules import: another name fails the build ("No matching export")
        contents: 'export default process; export const env = process.env; export const versions = process.versions;',
        loader: 'js',
      }));
    },
  },
  {
    // z.fromJSONSchema (JSON Schema -> zod) is never called here; its module copies every export
    // of zod's schemas and checks into an object at import time (which also keeps all of them in
    // the bundle): about 1 ms of every cold start and 15 kB.
    name: 'zod-without-from-json-schema',
    setup(build) {
      build.onResolve({ filter: /^\.\/from-json-schema\.js$/ }, (args) =>
        /[\\/]node_modules[\\/]zod[\\/]v4[\\/]classic[\\/]external\.js$/.test(args.importer)
          ? { path: 'from-json-schema', namespace: 'zod-from-json-schema-stub' }
          : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: 'zod-from-json-schema-stub' }, () => ({
        contents: "export const fromJSONSchema = () => { throw new Error('z.fromJSONSchema is not in the Lambda bundles (scripts/build-lambda.ts)'); };",
        loader: 'js',
      }));
    },
  },
  {
    // zod bundles every locale's error messages (about 250 kB); only English is ever used here
    name: 'zod-english-only',
    setup(build) {
      build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
        /[\\/]node_modules[\\/]zod[\\/]/.test(args.importer) ? { path: join(dirname(args.importer), '../locales/en.js'), namespace: 'zod-locales' } : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
        contents: `export { default as en } from ${JSON.stringify(args.path)};`,
        loader: 'js',
        resolveDir: dirname(args.path),
      }));
    },
  },
];

/**
 * The kinesis and streams functions never queue calls (the Kinesis client and producer are about
 * 60 kB): C360_INGEST_MODE=async there fails at start-up with this message.
 */
const withoutAsyncIngest: esbuild.Plugin = {
  name: 'without-async-ingest',
  setup(build) {
    build.onResolve({ filter: /^\.\/async-ingest\.js$/ }, (args) => ({ path: args.path, namespace: 'async-ingest-stub' }));
    build.onLoad({ filter: /.*/, namespace: 'async-ingest-stub' }, () => ({
      contents:
        "export const asyncIngest = async () => { const e = new Error('C360_INGEST_MODE: async ingest runs in the api function; set C360_INGEST_MODE=sync for this one'); e.name = 'ConfigError'; throw e; };",
      loader: 'js',
    }));
  },
};

const packageOf = (input: string): string => {
  const m = /node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)/.exec(input);
  return m ? m[1]!.replace('\\', '/') : input.startsWith('src/') ? 'src' : input.split(':')[0]!;
};

const top = <T extends { bytes: number }>(rows: T[], n: number): T[] => rows.sort((a, b) => b.bytes - a.bytes).slice(0, n);

/** Sizes from the metafile: all of the function's files, and those the entry imports statically. */
const reportOf = (fn: LambdaFunction, file: string, outDir: string, metafile: esbuild.Metafile): BundleReport => {
  const outputs = Object.entries(metafile.outputs).filter(([path]) => path.endsWith('.mjs'));
  const abs = (path: string) => resolve(ROOT, path);
  const start = new Set<string>();
  const visit = (path: string): void => {
    if (start.has(path)) return;
    start.add(path);
    for (const i of metafile.outputs[path]?.imports ?? []) if (i.kind === 'import-statement' && !i.external) visit(i.path);
  };
  visit(outputs.find(([path]) => abs(path) === file)![0]);
  const byPackage = new Map<string, number>();
  const inputs: { path: string; bytes: number }[] = [];
  for (const path of start) {
    for (const [input, { bytesInOutput }] of Object.entries(metafile.outputs[path]!.inputs)) {
      byPackage.set(packageOf(input), (byPackage.get(packageOf(input)) ?? 0) + bytesInOutput);
      inputs.push({ path: input, bytes: bytesInOutput });
    }
  }
  const files = outputs.map(([path, o]) => ({ path: relative(outDir, abs(path)), bytes: o.bytes, start: start.has(path) }));
  const bytes = files.reduce((n, f) => n + f.bytes, 0);
  return {
    name: fn.name,
    file,
    bytes,
    startBytes: files.filter((f) => f.start).reduce((n, f) => n + f.bytes, 0),
    files,
    budgetBytes: fn.budgetBytes,
    withinBudget: bytes <= fn.budgetBytes,
    packages: top(
      [...byPackage].map(([name, bytes]) => ({ name, bytes })),
      12,
    ),
    inputs: top(inputs, 12),
  };
};

/**
 * The store every function runs on (docs/architecture.md, runtime shapes): its module is imported
 * dynamically by the container at every cold start.
 */
const START_STORE = 'src/infrastructure/stores/dynamodb.ts';

/**
 * What a function loads at its cold start, in as few files as code splitting allows. esbuild puts
 * a module in the chunk of the set of entry points (the function's and each dynamic import's)
 * that reach it, so the start's modules were spread over many chunks (25 files for the api
 * function, some of a few hundred bytes), one per set of lazily loaded modules that also use some
 * of them, and each file is one more to resolve, read and link at every cold start. Here each ES
 * module imported dynamically is reached through a stand-in that also imports the modules the
 * function's entry imports and the store's (START_STORE): the start's modules are then all reached
 * by the same entry points and share one chunk, the store's another. Nothing runs at another time
 * than before: a lazily loaded chunk imports modules that the start has already run (off DynamoDB,
 * the first lazily loaded module also loads the DynamoDB store's modules, unused). The entry itself
 * is left out: its top-level await waits for chunks it loads, which must not wait for it.
 */
const startInFewFiles = (hub: readonly string[]): esbuild.Plugin => ({
  name: 'start-in-few-files',
  setup(build) {
    build.onResolve({ filter: /.*/ }, async (args) => {
      if (args.kind !== 'dynamic-import' || args.namespace !== 'file') return undefined;
      const resolved = await build.resolve(args.path, { kind: 'import-statement', importer: args.importer, resolveDir: args.resolveDir });
      if (resolved.errors.length > 0 || resolved.external || resolved.namespace !== 'file') return undefined;
      const source = await readFile(resolved.path, 'utf8');
      // an ES module's exports pass through `export *` (and `export { default }`); a CommonJS one's might not: left as it is
      if (!/^\s*export\b/m.test(source)) return undefined;
      return { path: resolved.path, namespace: 'start-hub', pluginData: { withDefault: /\bexport\s+default\b|\bas\s+default\b/.test(source) } };
    });
    build.onLoad({ filter: /.*/, namespace: 'start-hub' }, (args) => ({
      contents: [
        ...hub.map((path) => `import ${JSON.stringify(path)};`),
        `export * from ${JSON.stringify(args.path)};`,
        ...(args.pluginData.withDefault ? [`export { default } from ${JSON.stringify(args.path)};`] : []),
      ].join('\n'),
      loader: 'js',
      resolveDir: dirname(args.path),
    }));
  },
});

/**
 * The files a function's entry imports statically, resolved by the function's plugins (a module
 * they replace by a stand-in is left out: the stand-in is what the function carries).
 */
const entryImports = async (entry: string, functionPlugins: readonly esbuild.Plugin[]): Promise<string[]> => {
  const entryPath = resolve(ROOT, entry);
  const imports: string[] = [];
  await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    logLevel: 'error',
    plugins: [
      {
        name: 'entry-imports',
        setup(build) {
          build.onResolve({ filter: /.*/ }, async (args) => {
            if (args.importer !== entryPath || args.pluginData === 'entry-imports') return undefined;
            const resolved = await build.resolve(args.path, {
              kind: args.kind,
              importer: args.importer,
              resolveDir: args.resolveDir,
              pluginData: 'entry-imports',
            });
            if (args.kind === 'import-statement' && resolved.namespace === 'file') imports.push(resolved.path);
            return { path: args.path, external: true };
          });
        },
      },
      ...functionPlugins,
    ],
  });
  return imports;
};

export const buildLambdas = async (options: BuildOptions = {}): Promise<BundleReport[]> => {
  const outDir = resolve(ROOT, options.outDir ?? 'dist/lambda');
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const openApi = await generateOpenApi();
  await writeFile(join(outDir, 'openapi.json'), JSON.stringify(openApi, null, 2));
  const reports: BundleReport[] = [];
  for (const fn of FUNCTIONS) {
    const file = join(outDir, `${fn.name}.mjs`);
    const functionPlugins = [...plugins(openApi), ...(fn.asyncIngest ? [] : [withoutAsyncIngest])];
    const result = await esbuild.build({
      absWorkingDir: ROOT,
      entryPoints: { [fn.name]: fn.entry },
      outdir: outDir,
      outExtension: { '.js': '.mjs' },
      // what a function imports dynamically (async ingest, the OpenAPI document, ...) goes to its
      // own chunks under <name>/, loaded on first use instead of compiled at every cold start
      splitting: true,
      chunkNames: `${fn.name}/[name]-[hash]`,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      // ESM builds of the AWS SDK and friends tree-shake better than their CJS ones
      mainFields: ['module', 'main'],
      minify: options.minify ?? true,
      treeShaking: true,
      sourcemap: options.sourcemap ? 'external' : false,
      legalComments: 'external',
      banner: { js: BANNER },
      metafile: true,
      logLevel: 'error',
      plugins: [...functionPlugins, startInFewFiles([...(await entryImports(fn.entry, functionPlugins)), resolve(ROOT, START_STORE)])],
    });
    // esbuild's metafile, for https://esbuild.github.io/analyze/ : which module lands in which file, and its size
    await writeFile(join(outDir, `${fn.name}.meta.json`), JSON.stringify(result.metafile));
    const forbidden = Object.keys(result.metafile.inputs).filter((input) => fn.forbidden.some((re) => re.test(input)));
    if (forbidden.length > 0)
      throw new Error(
        `${fn.name}: ${forbidden.length} modules it must not carry, e.g. ${forbidden.slice(0, 5).join(', ')}; see ${fn.name}.meta.json for who imports them`,
      );
    reports.push(reportOf(fn, file, outDir, result.metafile));
  }
  await writeFile(join(outDir, 'size-report.json'), JSON.stringify(reports, null, 2));
  return reports;
};

const kb = (n: number): string => `${(n / 1000).toFixed(1)} kB`;

export const formatReport = (reports: readonly BundleReport[]): string =>
  reports
    .map((r) =>
      [
        `${r.withinBudget ? 'ok  ' : 'OVER'} ${r.name}.mjs ${kb(r.bytes)} in ${r.files.length} files (budget ${kb(r.budgetBytes)}); ${kb(r.startBytes)} imported statically`,
        `     of which:         ${r.packages
          .slice(0, 8)
          .map((p) => `${p.name} ${kb(p.bytes)}`)
          .join(', ')}`,
        `     biggest inputs:   ${r.inputs
          .slice(0, 5)
          .map((p) => `${p.path} ${kb(p.bytes)}`)
          .join(', ')}`,
      ].join('\n'),
    )
    .join('\n');

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const out = args.includes('--out') ? args[args.indexOf('--out') + 1] : undefined;
  const reports = await buildLambdas({ outDir: out, sourcemap: args.includes('--sourcemap'), minify: !args.includes('--no-minify') });
  console.log(formatReport(reports));
  const over = reports.filter((r) => !r.withinBudget);
  if (over.length > 0) {
    console.error(
      `over budget: ${over.map((r) => `${r.name} by ${kb(r.bytes - r.budgetBytes)}`).join(', ')}; see ${join(dirname(reports[0]!.file), 'size-report.json')}`,
    );
    process.exit(1);
  }
}
