// Lint rules that keep the layers of docs/architecture.md honest: imports only point down, siblings
// import each other's index.ts, and only src/store/etcd imports etcd3.
import tseslint from 'typescript-eslint';

const layers = {
  // layer: folders it may NOT import from (everything above it)
  client: ['errors', 'config', 'store', 'catalog', 'health', 'cluster', 'acl', 'events', 'api', 'dns', 'agent', 'gateway', 'server', 'cli', 'ui'],
  errors: ['config', 'store', 'catalog', 'health', 'cluster', 'acl', 'events', 'api', 'dns', 'agent', 'gateway', 'server', 'cli', 'ui'],
  config: ['store', 'catalog', 'health', 'cluster', 'acl', 'events', 'api', 'dns', 'agent', 'gateway', 'server', 'cli', 'ui'],
  store: ['catalog', 'health', 'cluster', 'acl', 'events', 'api', 'dns', 'agent', 'gateway', 'server', 'cli', 'ui'],
  catalog: ['health', 'cluster', 'acl', 'events', 'api', 'dns', 'agent', 'gateway', 'server', 'cli', 'ui'],
  health: ['store', 'api', 'dns', 'agent', 'gateway', 'server', 'cli', 'ui'],
  cluster: ['api', 'dns', 'agent', 'gateway', 'server', 'cli', 'ui'],
  // tokens and policies: rules, authorizers, token resolution (their records are the catalog's)
  acl: ['store', 'health', 'cluster', 'api', 'dns', 'agent', 'gateway', 'server', 'cli', 'ui'],
  // The event history: beside health and cluster, on the catalog (config and errors below it).
  events: ['store', 'health', 'cluster', 'api', 'dns', 'agent', 'gateway', 'server', 'cli', 'ui'],
  api: ['dns', 'agent', 'gateway', 'server', 'cli', 'ui'],
  dns: ['api', 'agent', 'gateway', 'server', 'cli', 'ui'],
  // The agent reaches remote state only through the servers (the agent stream): no store, no server group.
  agent: ['store', 'cluster', 'gateway', 'server', 'cli', 'ui'],
  // The gateway talks to Beacon over HTTP like any client (server, cluster or agent): client, config, errors only.
  gateway: ['store', 'catalog', 'health', 'cluster', 'api', 'dns', 'agent', 'server', 'cli', 'ui'],
  server: ['cli', 'ui'],
};

const siblingImports = {
  selector:
    'ImportDeclaration[source.value=/^\\.\\.\\/(\\.\\.\\/)*(errors|config|store|catalog|health|cluster|acl|events|dns|agent|gateway|server|cli|client)\\/(?!index\\.js$).+/]',
  message: 'Import another subsystem through its index.js, not its insides.',
};

const STORE_WRITES = '/^(put|delete|deletePrefix|txn|grant|keepAlive|revoke|compact)$/';
const storeWrites = [
  {
    selector: `CallExpression[callee.type='MemberExpression'][callee.object.name='store'][callee.property.name=${STORE_WRITES}]`,
    message: 'Only the catalog and the store write the store: call a catalog command (catalog.commands) instead.',
  },
  {
    selector: `CallExpression[callee.type='MemberExpression'][callee.object.property.name='store'][callee.property.name=${STORE_WRITES}]`,
    message: 'Only the catalog and the store write the store: call a catalog command (catalog.commands) instead.',
  },
  {
    selector: 'ImportSpecifier[imported.name=/^(TxnOp|Compare|PutOptions|LeaseId)$/]',
    message: 'Store operations are built inside the catalog only: call a catalog command instead.',
  },
];

function upwardPatterns(layer, forbidden) {
  const patterns = forbidden.map((dir) => ({
    group: [`**/${dir}/**`, `**/${dir}`, `**/${dir}/index.js`],
    message: `src/${layer} may not import from src/${dir}: imports only point down the layers (docs/architecture.md).`,
  }));
  if (layer === 'client') {
    patterns.push({
      group: ['fastify', 'better-sqlite3', 'etcd3', 'dns-packet', 'prom-client', 'pino'],
      message: 'The SDK ships without server dependencies.',
    });
  }
  return patterns;
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'bench/**/*.tmp*'] },
  // typescript-eslint's recommended rules with type information (no-floating-promises,
  // no-misused-promises, no-unsafe-*, ...) on everything TypeScript, tests included.
  ...tseslint.configs.recommendedTypeChecked.map((c) => ({ ...c, files: ['src/**/*.ts', 'test/**/*.ts'] })),
  {
    files: ['src/**/*.ts', 'test/**/*.ts'],
    languageOptions: { parser: tseslint.parser, parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['etcd3'], message: 'Only src/store/etcd imports etcd3.' }] }],
      // A leading underscore marks a parameter an interface or fake must take but does not use.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // `catch (err) { return Promise.reject(err); }` turns a synchronous throw into a rejection: a rethrow, allowed as `throw err` is.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // A closure declared before a variable's one assignment may run first: `const` would put it in the TDZ.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  ...Object.entries(layers).map(([layer, forbidden]) => ({
    files: [`src/${layer}/**/*.ts`],
    ignores: layer === 'store' ? [] : [],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [...upwardPatterns(layer, forbidden), ...(layer === 'store' ? [] : [{ group: ['etcd3'], message: 'Only src/store/etcd imports etcd3.' }])],
        },
      ],
    },
  })),
  {
    files: ['src/store/**/*.ts'],
    ignores: ['src/store/etcd/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [...upwardPatterns('store', layers.store), { group: ['etcd3'], message: 'Only src/store/etcd imports etcd3.' }] },
      ],
    },
  },
  {
    // Siblings import each other's face (index.ts), never their insides.
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts'],
    rules: { 'no-restricted-syntax': ['error', siblingImports] },
  },
  {
    // The write path is the catalog's commands: nothing above the catalog writes the store,
    // builds its operations or holds its leases (docs/architecture.md, "catalog").
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts', 'src/**/*.test-suite.ts', 'src/store/**', 'src/catalog/**'],
    rules: {
      'no-restricted-syntax': ['error', siblingImports, ...storeWrites],
    },
  },
);
