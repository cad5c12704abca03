// The AWS SDK's notice that its 2027 releases will need Node 22 is about upgrading the runtime, not about this
// code: the switch the SDK documents (aws/aws-sdk-js-v3#7983), set for test runs only (a service on Node 20 still
// shows it once at boot).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// NestJS 12 is ESM-only, so jest runs in ESM mode (NODE_OPTIONS=--experimental-vm-modules, set by `npm test`).
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  testMatch: ['<rootDir>/test/**/*.spec.ts', '<rootDir>/src/**/*.spec.ts'],
  testTimeout: 30000,
  // One test file at a time (`npm test` passes --maxWorkers=1), in a worker process that jest replaces once it holds
  // more than this after a file: jest's ESM mode keeps every file's module graph alive, and in one long process
  // (--runInBand) the heap grew past 4 GB by the 90th of ~150 files, where V8 collected so often that S3 calls of the
  // later files timed out (a sign-in's PUT past a test's 1 s S3_TIMEOUT_MS). A fresh worker starts with a small heap.
  workerIdleMemoryLimit: '1200MB',
  // No forceExit: every suite closes what it opened (servers, S3 clients, keep-alive sockets, timers), so jest ends
  // by itself; `npx jest --detectOpenHandles` names anything left open. The exit guard only keeps CI from hanging
  // if a leak slips in, and says so.
  reporters: ['default', '<rootDir>/test/support/exit-guard.mjs'],
};
