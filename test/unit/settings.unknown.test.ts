import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KNOWN_SETTINGS, unknownSettings } from '../../src/infrastructure/config.js';
import { main } from '../../src/infrastructure/cli.js';

// A C360_ variable nothing reads is said at start, with what it may have meant: `C360_PORT=80`
// was ignored in silence (the port is PORT) and the server listened on 3000.

const filesUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => {
    const path = join(dir, f);
    return statSync(path).isDirectory() ? filesUnder(path) : /\.(ts|tsx|mjs)$/.test(f) ? [path] : [];
  });

describe('settings nothing reads', () => {
  it('are named, with the setting meant when one is close', () => {
    expect(unknownSettings({ C360_PORT: '80', C360_STOR: 'memory', C360_ZZZ_UNRELATED: '1', C360_STORE: 'memory', PORT: '1', HOME: '/root' })).toEqual([
      'C360_PORT is not a setting and is ignored; did you mean PORT?',
      'C360_STOR is not a setting and is ignored; did you mean C360_STORE?',
      'C360_ZZZ_UNRELATED is not a setting and is ignored',
    ]);
    expect(unknownSettings({ C360_STORE: 'sqlite', C360_DATA_DIR: '.c360' })).toEqual([]);
  });

  it('are every C360_ variable but those src/ and bin/ read (the list cannot drift from the code)', () => {
    const read = new Set<string>();
    for (const file of [...filesUnder('src'), ...filesUnder('bin')]) for (const m of readFileSync(file, 'utf8').matchAll(/\bC360_[A-Z0-9_]+/g)) read.add(m[0]);
    const harness = ['C360_CHROMIUM', 'C360_KEEP_CLONE'];
    expect([...KNOWN_SETTINGS].filter((n) => !harness.includes(n)).sort()).toEqual([...read].sort());
  });

  it('are said by the c360 bin on stderr, and the command still runs', async () => {
    let out = '';
    let err = '';
    const io = { stdout: { write: (t: string) => ((out += t), true) }, stderr: { write: (t: string) => ((err += t), true) }, debug: false };
    const code = await main(['laws', '--help'], { C360_PORT: '80' }, io);
    expect(code).toBe(0);
    expect(out).toContain('--rules');
    expect(err).toBe('warning: C360_PORT is not a setting and is ignored; did you mean PORT?\n');
  });
});
