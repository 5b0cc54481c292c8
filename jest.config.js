// One jest run for the whole workspace. Tests import the packages by name; the mapper points
// them at the TypeScript sources, so `jest` needs no build, and `tsc -b` (run first by
// `pnpm test`) checks the types.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/test'],
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/'],
  testMatch: ['**/test/**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  moduleNameMapper: {
    '^@riopool/(core|native|pool)$': '<rootDir>/packages/$1/src',
    '^@riopool/pool/(testing|report)$': ['<rootDir>/packages/pool/src/$1', '<rootDir>/packages/pool/src/cli/$1'],
  },
  testTimeout: 60000,
};
