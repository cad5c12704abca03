// Loaded into the service process by the sessions benchmark (`node --expose-gc --import memory-probe.js main.js`):
// answers "memory" over the IPC channel with process.memoryUsage() after a full garbage collection, so the figures
// are what the service really holds, not garbage not yet collected. The service's own code is not changed.
import { getHeapSpaceStatistics } from 'node:v8';

declare const gc: (() => void) | undefined;

/**
 * process.memoryUsage(), and how much of V8's heap is its young generation (what it holds for short-lived objects:
 * it grows under allocation load and shrinks when idle, so heapTotal and RSS move with it while nothing leaks).
 */
function reading() {
  const young = getHeapSpaceStatistics()
    .filter((s) => s.space_name === 'new_space' || s.space_name === 'new_large_object_space')
    .reduce((sum, s) => sum + s.space_size, 0);
  return { ...process.memoryUsage(), youngGeneration: young };
}

process.on('message', (m: unknown) => {
  // "memory without gc": what the process holds as it is, so a wait for it to settle does not force the collections
  // that would settle it.
  if (m === 'memory without gc') {
    process.send?.({ memory: reading(), forcedGc: false });
    return;
  }
  if (m !== 'memory') return;
  gc?.();
  gc?.(); // a second pass frees what the first one's finalizers released
  process.send?.({ memory: reading(), forcedGc: typeof gc === 'function' });
});
// The channel must not keep the service alive after SIGTERM.
process.channel?.unref();
