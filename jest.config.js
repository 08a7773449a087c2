module.exports = {
  testEnvironment: 'node',
  // Two workers on a 2-core machine: the local-topology tests mostly wait on real timeouts, so a second worker
  // overlaps them with the CPU-bound synth tests (the whole suite: 415 s against 588 s with jest's default of one).
  maxWorkers: 2,
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.tsx?$': ['@swc/jest'],
  },
  setupFilesAfterEnv: [
    'aws-cdk-lib/testhelpers/jest-autoclean',
    '<rootDir>/test/esbuild-teardown.ts',
  ],
};
