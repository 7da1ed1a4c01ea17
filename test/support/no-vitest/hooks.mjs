// Module hooks that resolve `vitest` as if it were not installed (as for a user of the package
// who runs checkIdentityLaws from a plain script): registered by ./register.mjs.
export async function resolve(specifier, context, next) {
  if (specifier === 'vitest' || specifier.startsWith('vitest/')) {
    const error = new Error(`Cannot find package 'vitest' imported from ${context.parentURL}`);
    error.code = 'ERR_MODULE_NOT_FOUND';
    throw error;
  }
  return next(specifier, context);
}
