import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

// What each entry point of the package pulls into a user's bundle: every subpath bundled whole
// (`export *`: the most it can weigh), and the embedding a user starts with (the core on the memory
// adapter, used). esbuild as a user's Lambda build would run it: ESM for Node 22, minified, every
// dependency bundled. The test asserts the core's bundle holds no AWS SDK, Hono or inversify;
// `tsx scripts/package-weight.ts` prints the README's table.

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** the subpaths of package.json's exports and the source files they are built from */
export const SUBPATHS: Readonly<Record<string, string>> = {
  '.': 'src/public/index.ts',
  './memory': 'src/public/memory.ts',
  './sqlite': 'src/public/sqlite.ts',
  './dynamodb': 'src/public/dynamodb.ts',
  './eventstoredb': 'src/public/eventstoredb.ts',
  './sns': 'src/public/sns.ts',
  './kinesis': 'src/public/kinesis.ts',
  './lambda': 'src/public/lambda.ts',
  './testing': 'src/public/testing.ts',
};

/** packages a caller of the core or the memory adapter must never get */
export const HEAVY = /node_modules[\\/](@aws-sdk|@smithy|@aws-crypto|@aws-lambda-powertools|hono|@hono|inversify|@inversifyjs|reflect-metadata)[\\/]/;

export type Weight = {
  readonly name: string;
  /** the minified bundle, every chunk included */
  readonly bytes: number;
  /** the npm packages in it (scoped names whole), largest first, with the bytes each adds */
  readonly packages: readonly { readonly name: string; readonly bytes: number }[];
  readonly inputs: readonly string[];
};

const packageOf = (input: string): string => {
  const m = /node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)/.exec(input);
  return m ? m[1]!.replace('\\', '/') : 'customer360-core';
};

/** Bundles `contents` (an ES module importing from src/public) as a user's build would, and weighs it. */
export const weigh = async (name: string, contents: string): Promise<Weight> => {
  const result = await esbuild.build({
    stdin: { contents, resolveDir: ROOT, sourcefile: `${name}.ts`, loader: 'ts' },
    bundle: true,
    write: false,
    outdir: join(ROOT, '.package-weight'),
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    minify: true,
    metafile: true,
    logLevel: 'silent',
    // vitest belongs to the user's test run, never to a bundle
    external: ['vitest', 'vitest/*'],
  });
  const bytes = result.outputFiles.reduce((n, f) => n + f.contents.byteLength, 0);
  const byPackage = new Map<string, number>();
  for (const out of Object.values(result.metafile.outputs))
    for (const [input, { bytesInOutput }] of Object.entries(out.inputs))
      byPackage.set(packageOf(input), (byPackage.get(packageOf(input)) ?? 0) + bytesInOutput);
  return {
    name,
    bytes,
    packages: [...byPackage].map(([n, b]) => ({ name: n, bytes: b })).sort((a, b) => b.bytes - a.bytes),
    inputs: Object.keys(result.metafile.inputs),
  };
};

/** A user's first embedding: the core wired on the memory adapter, one call ingested. */
export const CORE_ON_MEMORY = `
import { createCore, createPorts, defaultSourceOf } from './src/public/index.ts';
import { memoryStores } from './src/public/memory.ts';
const core = createCore(createPorts({ stores: memoryStores(), claimSecret: 'package-weight-claim-secret-0123456789' }), { inlineProjection: true, sourceOf: defaultSourceOf });
export const handler = (event) => core.ingest.ingest('acme', defaultSourceOf('acme', 'web'), event);
`;

export const weighSubpaths = async (): Promise<Weight[]> => {
  const out: Weight[] = [];
  for (const [subpath, file] of Object.entries(SUBPATHS)) out.push(await weigh(subpath, `export * from './${file}';`));
  return out;
};

const kB = (n: number) => `${(n / 1000).toFixed(0)} kB`;

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const used = await weigh('core + memory, used', CORE_ON_MEMORY);
  console.log('| import | bundle (minified) | largest packages in it |');
  console.log('|---|---:|---|');
  for (const w of [used, ...(await weighSubpaths())]) {
    const top = w.packages
      .slice(0, 4)
      .map((p) => `${p.name} ${kB(p.bytes)}`)
      .join(', ');
    console.log(
      `| \`${w.name === '.' ? 'customer360-core' : w.name.startsWith('./') ? `customer360-core/${w.name.slice(2)}` : w.name}\` | ${kB(w.bytes)} | ${top} |`,
    );
  }
}
