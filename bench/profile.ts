import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A function's share of the samples of a CPU profile. */
export interface Frame {
  /** Function name and where it lives (node_modules package or our file). */
  name: string;
  /** Share of all samples spent in the function itself (%). */
  selfPercent: number;
}

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: CallFrame }>;
  samples: number[];
  timeDeltas: number[];
}

/** Milliseconds since the profile started: only samples in this window count (the load, not the boot). */
export interface Window {
  fromMs: number;
  toMs: number;
}

/** The call frames of the samples taken inside the window. */
function sampledFrames(file: string, window?: Window): CallFrame[] {
  return timedFrames(file, window).map((s) => s.frame);
}

/** Each sample's call frame with the time it stands for (µs: the gap to the next sample). */
function timedFrames(file: string, window?: Window): Array<{ frame: CallFrame; micros: number }> {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, { ...node, callFrame: unbundled(node.callFrame) }]));
  const out: Array<{ frame: CallFrame; micros: number }> = [];
  let atUs = 0;
  profile.samples.forEach((id, i) => {
    atUs += profile.timeDeltas[i] ?? 0;
    if (window && (atUs / 1000 < window.fromMs || atUs / 1000 > window.toMs)) return;
    const frame = byId.get(id)?.callFrame;
    if (frame) out.push({ frame, micros: profile.timeDeltas[i + 1] ?? 0 });
  });
  return out;
}

/** A function's (or a package's) self time in a profile, µs in all. */
export type SelfTimes = Map<string, number>;

/**
 * Self time in µs by function and by package, idle left out, from one read of the profile: what two profiles of
 * the same work are compared by, divided by the requests each served.
 */
export function selfMicros(file: string): { byFunction: SelfTimes; byPackage: SelfTimes } {
  const byFunction: SelfTimes = new Map();
  const byPackage: SelfTimes = new Map();
  const add = (times: SelfTimes, key: string, micros: number) => times.set(key, (times.get(key) ?? 0) + micros);
  for (const { frame, micros } of timedFrames(file)) {
    if (frame.functionName === '(idle)') continue;
    add(byFunction, functionKey(frame), micros);
    add(byPackage, packageKey(frame), micros);
  }
  return { byFunction, byPackage };
}

/** The source maps of the bundles a profile ran, by URL, read once each (undefined: the bundle has none). */
const bundleMaps = new Map<string, SourceMap | undefined>();

/**
 * A frame of the production bundle mapped back to the file it was bundled from, through the bundle's source map
 * (node's own reader), so that a profile of the service as production runs it still says which package and which of
 * our files the time went to. Profiles of the unbundled build hid what only the bundle costs (BENCHMARKS.md,
 * "Afternoon of 2026-12-03"). Frames of other files come back as they are.
 */
function unbundled(frame: CallFrame): CallFrame {
  if (!frame.url.endsWith('.bundle.mjs')) return frame;
  if (!bundleMaps.has(frame.url)) bundleMaps.set(frame.url, readMap(frame.url));
  const entry = bundleMaps.get(frame.url)?.findEntry(frame.lineNumber, frame.columnNumber);
  if (!entry || !('originalSource' in entry)) return frame;
  const bundle = fileURLToPath(frame.url);
  return { ...frame, url: resolve(dirname(bundle), entry.originalSource), lineNumber: entry.originalLine, columnNumber: entry.originalColumn };
}

function readMap(url: string): SourceMap | undefined {
  try {
    return new SourceMap(JSON.parse(readFileSync(`${fileURLToPath(url)}.map`, 'utf8')));
  } catch {
    return undefined;
  }
}

/** Where a frame lives, shortened: the package under node_modules, or the path below the build folder or the project. */
function place(url: string): string {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}/${rest.slice(2).join('/')}` : rest.join('/');
  }
  const build = url.indexOf('.local-build/');
  if (build >= 0) return url.slice(build + '.local-build/'.length);
  const path = url.replace(/^file:\/\//, '');
  return path.startsWith('/') ? relative(process.cwd(), path) : path;
}

const functionKey = (f: CallFrame) => `${f.functionName || '(anonymous)'} ${place(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`;

function packageKey(f: CallFrame): string {
  if (!f.url) return f.functionName || '(native)';
  const where = place(f.url);
  const parts = where.split('/');
  if (parts[0].startsWith('@')) return `${parts[0]}/${parts[1]}`;
  if (where.startsWith('node:')) return 'node internals';
  return parts.length > 1 && (parts[0] === 'src' || parts[0] === 'emulators') ? `${parts[0]}/${parts[1]}` : parts[0];
}

/** The `n` functions with the most self time in a .cpuprofile (idle and GC listed as the profile names them). */
export function topFrames(file: string, n: number, window?: Window): Frame[] {
  return largestShares(sampledFrames(file, window), n, functionKey);
}

/** Self time grouped by package (node_modules) or by our top-level folder, the `n` largest (%). */
export function selfByPackage(file: string, n: number, window?: Window): Frame[] {
  return largestShares(sampledFrames(file, window), n, packageKey);
}

/** Samples grouped by `keyOf`, the `n` largest groups with their share of all samples (%). */
function largestShares<T>(samples: T[], n: number, keyOf: (sample: T) => string): Frame[] {
  const counts = new Map<string, number>();
  for (const s of samples) {
    const key = keyOf(s);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const total = samples.length || 1;
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, count]) => ({ name, selfPercent: Math.round((count / total) * 1000) / 10 }));
}
