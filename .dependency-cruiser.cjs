/** The hexagon: domain <- application <- adapters <- infrastructure. CI fails on any violation. */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'src/domain imports only zod, libphonenumber-js and itself',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { pathNot: ['^src/domain/', '^node_modules/(zod|libphonenumber-js)/'] },
    },
    {
      name: 'application-imports-domain-only',
      comment: 'src/application never reaches into adapters or infrastructure',
      severity: 'error',
      from: { path: '^src/application/' },
      to: { path: '^src/(adapters|infrastructure)/' },
    },
    {
      name: 'application-no-io-libraries',
      comment: 'application code talks to the world through ports only',
      severity: 'error',
      from: { path: '^src/application/' },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'core'], pathNot: '^node_modules/zod/' },
    },
    {
      name: 'adapters-never-import-infrastructure',
      severity: 'error',
      from: { path: '^src/adapters/' },
      to: { path: '^src/infrastructure/' },
    },
    {
      name: 'only-infrastructure-uses-inversify',
      severity: 'error',
      from: { pathNot: '^src/infrastructure/' },
      to: { path: '^node_modules/(inversify|@inversifyjs)/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.json'] },
  },
};
