// Loaded into the service process by the sessions benchmark (`node --expose-gc --import memory-probe.js main.js`):
// answers "memory" over the IPC channel with process.memoryUsage() after a full garbage collection, so the figures
// are what the service really holds, not garbage not yet collected. The service's own code is not changed.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
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

// A CPU profile of a stretch the bench chooses (the side-by-side rounds), taken in the process through the inspector:
// --cpu-prof could only cover the whole life, where the 100,000 first requests would drown the stretch that matters.
let profiler: Session | undefined;

async function startProfile(): Promise<void> {
  profiler = new Session();
  profiler.connect();
  await profiler.post('Profiler.enable');
  // 100 µs rather than the default 1 ms: a request costs 70-100 µs here, and the gaps looked for are ~10 µs of it.
  await profiler.post('Profiler.setSamplingInterval', { interval: 100 });
  await profiler.post('Profiler.start');
}

async function stopProfile(file: string): Promise<void> {
  if (!profiler) throw new Error('no profile was started');
  const { profile } = await profiler.post('Profiler.stop');
  profiler.disconnect();
  profiler = undefined;
  writeFileSync(file, JSON.stringify(profile));
}

/** Answers a profiler request with `done` once `work` is through, or with the failure. */
function answerProfiling(work: Promise<void>, done: string): void {
  work.then(
    () => process.send?.({ profiling: done }),
    (e: Error) => process.send?.({ profiling: 'failed', error: e.message }),
  );
}

process.on('message', (m: unknown) => {
  if (m === 'profile start') return answerProfiling(startProfile(), 'started');
  if (typeof m === 'object' && m !== null && 'profileTo' in m) return answerProfiling(stopProfile(String(m.profileTo)), 'written');
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
