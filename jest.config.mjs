// NestJS 12 is ESM-only, so jest runs in ESM mode (NODE_OPTIONS=--experimental-vm-modules, set by `npm test`).
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // @fastify/static (used by Swagger UI) require()s the ESM-only content-disposition 1.x. Node >= 20.19 does that
    // natively, but jest's module system on Node < 24.9 cannot; inside jest only, the CommonJS 0.5 line stands in.
    '^content-disposition$': 'content-disposition-cjs',
  },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  testMatch: ['<rootDir>/test/**/*.spec.ts', '<rootDir>/src/**/*.spec.ts'],
  testTimeout: 30000,
  // Safety net for CI: a leaked handle must not hang the run; suites still close their servers in afterAll.
  forceExit: true,
};
