// Loaded into the service process by the sessions benchmark (`node --expose-gc --import memory-probe.js main.js`):
// answers "memory" over the IPC channel with process.memoryUsage() after a full garbage collection, so the figures
// are what the service really holds, not garbage not yet collected. The service's own code is not changed.
declare const gc: (() => void) | undefined;

process.on('message', (m: unknown) => {
  // "memory without gc": what the process holds as it is, so a wait for it to settle does not force the collections
  // that would settle it.
  if (m === 'memory without gc') {
    process.send?.({ memory: process.memoryUsage(), forcedGc: false });
    return;
  }
  if (m !== 'memory') return;
  gc?.();
  gc?.(); // a second pass frees what the first one's finalizers released
  process.send?.({ memory: process.memoryUsage(), forcedGc: typeof gc === 'function' });
});
// The channel must not keep the service alive after SIGTERM.
process.channel?.unref();
