import { spawnSync } from 'node:child_process';
import { cp, readdir, rm } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// `npm run build`: the package's ESM and .d.ts (with source maps) from src/ into lib/, by tsc with
// tsconfig.build.json, plus the files beside the sources that the code reads at run time (the
// DynamoDB Local launcher; JSON imports are emitted by tsc itself). The exports of package.json
// point into lib/public/.

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'lib');
/** read at run time from beside the module that needs them */
const ASSETS = /\.java$/;

const filesUnder = async (dir: string): Promise<string[]> =>
  (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));

export const buildPackage = async (): Promise<void> => {
  await rm(OUT, { recursive: true, force: true });
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (tsc.status !== 0) throw new Error(`tsc failed (exit ${tsc.status})`);
  for (const file of (await filesUnder(join(ROOT, 'src'))).filter((f) => ASSETS.test(f))) await cp(file, join(OUT, relative(join(ROOT, 'src'), file)));
};

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  await buildPackage();
  console.log(`built lib/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
