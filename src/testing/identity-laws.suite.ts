import { describe, expect, it } from './vitest.js';
import { checkIdentityLaws, formatCoverage, formatLawFailure, IDENTITY_LAWS, type LawsOptions } from './identity-laws.js';

/**
 * Declares the identity laws as vitest tests, one per law, over `rules` (a parsed rules file).
 * A failing law fails its test with the seed, the replay path and the shrunk counterexample; a law
 * with nothing to check under the rules (no value blocked, a guard beyond the histories' reach, ...)
 * is skipped, the reason as the skip's note (`not checked: the rules block no value`).
 */
export const identityLawsSuite = (name: string, rules: unknown, options: LawsOptions & { readonly timeoutMs?: number | undefined } = {}): void => {
  describe(`identity laws: ${name}`, () => {
    for (const law of IDENTITY_LAWS.filter((l) => !options.laws || options.laws.includes(l.name)))
      it(
        `${law.name}: ${law.statement}`,
        async (ctx) => {
          const [result] = await checkIdentityLaws(rules, { ...options, laws: [law.name] });
          expect(result, 'the law ran').toBeDefined();
          // never a green pass for a law that checked nothing: skipped, saying why
          if (result!.skipped !== undefined) ctx.skip(formatCoverage(result!));
          expect(result!.ok, result!.ok ? '' : formatLawFailure(result!)).toBe(true);
        },
        options.timeoutMs ?? 120_000,
      );
  });
};
