import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

// Installs a packed tarball into a fresh project offline, as a user's `npm install` would, but
// from npm's local cache only: the project's lockfile is cut from this repository's (the very
// versions our own tests run on), so npm needs no registry metadata, only the cached tarballs.

type LockEntry = {
  readonly version?: string;
  readonly resolved?: string;
  readonly integrity?: string;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, { readonly optional?: boolean }>;
  readonly link?: boolean;
  readonly [k: string]: unknown;
};

const ROOT = join(import.meta.dirname, '..');

/** Where node would find `name` from the package at `from` (a lockfile key, '' for the root). */
const locate = (packages: Record<string, LockEntry>, from: string, name: string): string | undefined => {
  let base = from;
  for (;;) {
    const key = base ? `${base}/node_modules/${name}` : `node_modules/${name}`;
    if (packages[key]) return key;
    if (!base) return undefined;
    const i = base.lastIndexOf('/node_modules/');
    base = i < 0 ? '' : base.slice(0, i);
  }
};

/** Every lockfile entry reachable from `roots` (names at the top level), with what they need in turn. */
const closure = (packages: Record<string, LockEntry>, roots: readonly string[]): Record<string, LockEntry> => {
  const out: Record<string, LockEntry> = {};
  const queue = roots.map((name) => ({ from: '', name, optional: false }));
  while (queue.length > 0) {
    const { from, name, optional } = queue.shift()!;
    const key = locate(packages, from, name);
    if (!key) {
      if (optional) continue;
      throw new Error(`${name} (needed by ${from || 'the project'}) is not in the repository's lockfile`);
    }
    if (out[key]) continue;
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = packages[key]!;
    out[key] = entry;
    const peers = Object.keys(entry.peerDependencies ?? {}).filter((p) => !entry.peerDependenciesMeta?.[p]?.optional);
    for (const d of [...Object.keys(entry.dependencies ?? {}), ...peers]) queue.push({ from: key, name: d, optional: false });
    for (const d of Object.keys(entry.optionalDependencies ?? {})) queue.push({ from: key, name: d, optional: true });
  }
  return out;
};

export type OfflineInstall = {
  /** the project directory (it gets package.json, package-lock.json and node_modules) */
  readonly dir: string;
  readonly tarball: string;
  /** more packages for the project, at the versions this repository uses (e.g. vitest, esbuild) */
  readonly withPackages: readonly string[];
};

/** Writes the project's package.json and lockfile, then runs `npm ci --offline`; returns npm's output. */
export const installOffline = ({ dir, tarball, withPackages }: OfflineInstall): string => {
  const repoLock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const ours = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as LockEntry & { name: string; version: string; bin?: unknown; engines?: unknown };
  const spec = `file:${relative(dir, tarball)}`;
  const versions = Object.fromEntries(withPackages.map((p) => [p, repoLock.packages[`node_modules/${p}`]?.version ?? '']));
  for (const [p, v] of Object.entries(versions)) if (!v) throw new Error(`${p} is not a top-level package of the repository's lockfile`);
  const dependencies = { [ours.name]: spec, ...versions };
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  const pkg = { name: 'user-project', version: '1.0.0', private: true, type: 'module', dependencies };
  const lock = {
    name: pkg.name,
    version: pkg.version,
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: pkg.name, version: pkg.version, dependencies },
      [`node_modules/${ours.name}`]: {
        version: ours.version,
        resolved: spec,
        integrity,
        dependencies: ours.dependencies,
        peerDependencies: ours.peerDependencies,
        peerDependenciesMeta: ours.peerDependenciesMeta,
        bin: ours.bin,
        engines: ours.engines,
      },
      ...closure(repoLock.packages, [...Object.keys(ours.dependencies ?? {}), ...withPackages]),
    },
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  writeFileSync(join(dir, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
  const npm = spawnSync('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: dir, encoding: 'utf8', env: process.env });
  if (npm.status !== 0) throw new Error(`npm ci --offline failed (exit ${npm.status}):\n${npm.stdout}\n${npm.stderr}`);
  return npm.stdout + npm.stderr;
};
