/** One Jest run covers every app and the shared library; type errors are tsc's job (make test runs it), so ts-jest only transpiles. */
// NestJS 12 ships ES modules; Jest requires them through Node's vm modules, which need a flag that
// the project's .npmrc passes to whatever `npx jest` or `npm test` starts.
const nodeFlags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
if (!nodeFlags.includes('--experimental-vm-modules')) {
  throw new Error('Jest needs Node started with --experimental-vm-modules: run it as `npx jest` (see .npmrc)');
}

module.exports = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  rootDir: '.',
  roots: ['<rootDir>/apps', '<rootDir>/libs'],
  testRegex: '.*\\.(spec|e2e-spec)\\.ts$',
  transform: {
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  },
  moduleNameMapper: {
    '^@app/common(|/.*)$': '<rootDir>/libs/common/src$1',
  },
  testEnvironment: 'node',
  testTimeout: 60000,
};
