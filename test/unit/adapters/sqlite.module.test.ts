import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fromSource, MIN_NODE, nodeTooOld } from '../../../src/adapters/sqlite/sqlite.module.js';

// What a Node without node:sqlite is told: the version the package's engines name, and what to do
// where it runs (this repository's npm scripts run on the Node its lockfile pins; a user's project
// pins nothing of the kind).

const ROOT = join(import.meta.dirname, '../../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };

describe('the message on a Node without node:sqlite', () => {
  it("names the Node version package.json's engines require", () => {
    expect(pkg.engines.node).toBe(`>=${MIN_NODE}`);
    for (const inRepository of [true, false]) {
      const message = nodeTooOld('v20.19.0', inRepository);
      expect(message).toContain(`Node ${MIN_NODE} or newer`);
      expect(message).toContain('Node v20.19.0 does not have');
      // no other version of Node 22 than the engines' one
      expect(message.match(/22\.\d+/g)?.every((v) => v === MIN_NODE)).toBe(true);
    }
  });

  it("in this repository points to npm's pinned Node; in a user's project, to the project's own Node", () => {
    expect(nodeTooOld('v20.19.0', true)).toMatch(/In this repository, run through npm \(npm start, npm run c360 -- \.\.\.\): its lockfile pins a Node 22/);
    const theirs = nodeTooOld('v20.19.0', false);
    expect(theirs).toContain(`Run your project on Node ${MIN_NODE} or newer`);
    expect(theirs).not.toMatch(/lockfile|npm start|npm run c360/);
  });

  it('tells the sources (the repository) from a build (installed or bundled)', () => {
    expect(fromSource(pathToFileURL(join(ROOT, 'src/adapters/sqlite/sqlite.module.ts')).href)).toBe(true);
    expect(fromSource('file:///home/me/shop/node_modules/customer360-core/lib/adapters/sqlite/sqlite.module.js')).toBe(false);
    expect(fromSource('file:///home/me/shop/dist/handler.mjs')).toBe(false);
  });

  // the real thing, where this machine has a Node older than 22.13 outside the pinned one
  const old = spawnSync('/usr/bin/node', ['--version'], { encoding: 'utf8' });
  const oldNode = old.status === 0 && /^v(\d+)\.(\d+)/.exec(old.stdout) ? old.stdout.trim() : undefined;
  const tooOld =
    oldNode !== undefined && (([, major, minor]) => Number(major) < 22 || (Number(major) === 22 && Number(minor) < 13))(/^v(\d+)\.(\d+)/.exec(oldNode)!);
  if (!tooOld)
    console.log(`[skip] the older-Node check: /usr/bin/node is ${oldNode ?? 'missing'}, not older than 22.13, so there is no older Node to run c360 on`);
  it.skipIf(!tooOld)(`the repository's c360 run on an older Node (${oldNode ?? 'none found'}) says to run it through npm`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'c360-old-node-'));
    try {
      const r = spawnSync('/usr/bin/node', [join(ROOT, 'bin/c360.mjs'), 'seed', '--customers', '1'], {
        encoding: 'utf8',
        env: { PATH: '/usr/bin:/bin', HOME: dir, C360_DATA_DIR: dir },
      });
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toContain(`error: ${nodeTooOld(oldNode!, true)}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
