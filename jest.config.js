// Two projects: the frontend under jsdom (JupyterLab's test environment), the server under node.
const jlabConfig = require('@jupyterlab/testing/lib/jest-config')(__dirname);

const tsTransform = ['ts-jest', { tsconfig: './tsconfig.test.json' }];
// JupyterLab and several of its dependencies ship ES modules, which jest must transpile.
const esModules = [
  '@jupyterlab/',
  '@lumino/',
  '@codemirror',
  '@microsoft',
  '@jupyter/',
  'lib0',
  'nanoid',
  'y-protocols',
  'yjs',
  'marked',
  'exenv-es6'
].join('|');

// Reporters and timeouts are set once for both projects, below.
const frontendBase = { ...jlabConfig };
delete frontendBase.coverageReporters;
delete frontendBase.reporters;
delete frontendBase.testTimeout;

// Build outputs carry copies of package.json (the labextension, the Python package's Node server).
const modulePathIgnorePatterns = ['<rootDir>/build/'];

module.exports = {
  coverageReporters: jlabConfig.coverageReporters,
  testTimeout: 120000,
  projects: [
    {
      ...frontendBase,
      displayName: 'frontend',
      modulePathIgnorePatterns,
      testRegex: 'src/.*/__tests__/.*\\.spec\\.tsx?$',
      transform: { ...jlabConfig.transform, '^.+\\.tsx?$': tsTransform },
      transformIgnorePatterns: [`/node_modules/(?!${esModules}).+`]
    },
    {
      displayName: 'server',
      modulePathIgnorePatterns,
      // a one-machine Slurm cluster for server/cluster's tests (scripts/slurm-testbed.sh)
      globalSetup: '<rootDir>/server/cluster/__tests__/global-setup.ts',
      globalTeardown: '<rootDir>/server/cluster/__tests__/global-teardown.ts',
      testEnvironment: 'node',
      testRegex: '(server|bench)/.*/__tests__/.*\\.spec\\.ts$',
      transform: { '^.+\\.ts$': tsTransform }
    }
  ]
};
