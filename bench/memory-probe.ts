// Loaded into the service process by the sessions benchmark (`node --expose-gc --import memory-probe.js main.js`):
// answers "memory" over the IPC channel with process.memoryUsage() after a full garbage collection, so the figures
// are what the service really holds, not garbage not yet collected. The service's own code is not changed.
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

declare const gc: (() => void) | undefined;

// The main thread's GC pauses since start, by kind (what the sessions bench sets beside each throughput round).
const gcPauses = { majorMs: 0, minorMs: 0, majors: 0, minors: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = ((e as unknown as { detail?: { kind?: number } }).detail)?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) {
      gcPauses.minorMs += e.duration;
      gcPauses.minors++;
    } else {
      gcPauses.majorMs += e.duration;
      gcPauses.majors++;
    }
  }
}).observe({ entryTypes: ['gc'] });

/**
 * process.memoryUsage(), and how much of V8's heap is its young generation (what it holds for short-lived objects:
 * it grows under allocation load and shrinks when idle, so heapTotal and RSS move with it while nothing leaks).
 */
function reading() {
  const spaces = getHeapSpaceStatistics();
  const young = spaces
    .filter((s) => s.space_name === 'new_space' || s.space_name === 'new_large_object_space')
    .reduce((sum, s) => sum + s.space_size, 0);
  // Old space held against used: a gap that grows while the heap used stays flat is fragmentation, not a leak.
  const old = spaces.find((s) => s.space_name === 'old_space');
  const cpu = process.cpuUsage();
  return {
    ...process.memoryUsage(),
    youngGeneration: young,
    oldSpace: old && { held: old.space_size, used: old.space_used_size },
    gc: { ...gcPauses },
    cpuMicros: cpu.user + cpu.system,
  };
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
