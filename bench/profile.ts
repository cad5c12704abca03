import { readFileSync } from 'node:fs';

/** A function's share of the samples of a CPU profile. */
export interface Frame {
  /** Function name and where it lives (node_modules package or our file). */
  name: string;
  /** Share of all samples spent in the function itself (%). */
  selfPercent: number;
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

/** Milliseconds since the profile started: only samples in this window count (the load, not the boot). */
export interface Window {
  fromMs: number;
  toMs: number;
}

/** The call frames of the samples taken inside the window. */
function sampledFrames(file: string, window?: Window): Array<CpuProfile['nodes'][number]['callFrame']> {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const frames: Array<CpuProfile['nodes'][number]['callFrame']> = [];
  let atUs = 0;
  profile.samples.forEach((id, i) => {
    atUs += profile.timeDeltas[i] ?? 0;
    if (window && (atUs / 1000 < window.fromMs || atUs / 1000 > window.toMs)) return;
    const f = byId.get(id)?.callFrame;
    if (f) frames.push(f);
  });
  return frames;
}

/** Where a frame lives, shortened: the package under node_modules, or the path below the build folder. */
function place(url: string): string {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}/${rest.slice(2).join('/')}` : rest.join('/');
  }
  const build = url.indexOf('.local-build/');
  return build >= 0 ? url.slice(build + '.local-build/'.length) : url.replace(/^file:\/\//, '');
}

/** The `n` functions with the most self time in a .cpuprofile (idle and GC listed as the profile names them). */
export function topFrames(file: string, n: number, window?: Window): Frame[] {
  return largestShares(sampledFrames(file, window), n, (f) => `${f.functionName || '(anonymous)'} ${place(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`);
}

/** Self time grouped by package (node_modules) or by our top-level folder, the `n` largest (%). */
export function selfByPackage(file: string, n: number, window?: Window): Frame[] {
  return largestShares(sampledFrames(file, window), n, (f) => {
    const where = place(f.url);
    const parts = where.split('/');
    if (!f.url) return f.functionName || '(native)';
    if (parts[0].startsWith('@')) return `${parts[0]}/${parts[1]}`;
    if (where.startsWith('node:')) return 'node internals';
    return parts.length > 1 && (parts[0] === 'src' || parts[0] === 'emulators') ? `${parts[0]}/${parts[1]}` : parts[0];
  });
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
