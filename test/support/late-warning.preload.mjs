// Preloaded into a replica by test/e2e/process-output.e2e.spec.ts: one warning no reviewer has read, emitted once the
// service is up, as a library's would be.
setTimeout(() => process.emitWarning('a library did something Node warns about', { code: 'TEST_UNREVIEWED', type: 'TestWarning' }), 1500).unref();
