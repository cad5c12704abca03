import { isAlive, ProcessGroups, type GroupProcess } from './process-groups.js';

/**
 * A command that starts two children and prints their PIDs: `sleep`, and a shell that ignores SIGTERM (as does the
 * `sleep` it runs), so only SIGKILL ends it. With LEADER_EXITS it exits at once, leaving both behind (an `npm run`
 * that crashed, or a parent that was sent SIGKILL).
 */
const TREE = `
const { spawn } = require('node:child_process');
const a = spawn('sleep', ['600'], { stdio: 'ignore' });
const b = spawn('sh', ['-c', 'trap "" TERM; sleep 600; true'], { stdio: 'ignore' });
setTimeout(() => {
  console.log(JSON.stringify({ children: [a.pid, b.pid] }));
  if (process.env.LEADER_EXITS) process.exit(0);
}, 200);
`;

async function childrenOf(proc: GroupProcess): Promise<number[]> {
  const deadline = Date.now() + 10_000;
  while (!proc.output().includes('children')) {
    if (Date.now() > deadline) throw new Error(`the tree did not start: ${proc.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return (JSON.parse(proc.output()) as { children: number[] }).children;
}

describe('ProcessGroups: what a suite starts is stopped whole', () => {
  const groups = new ProcessGroups();
  afterAll(() => groups.stopAll({ final: true, graceMs: 200 })); // what a failed expectation below left running

  it('signalling the command alone leaves its children running; stopAll ends every process of the group, SIGTERM-proof ones too', async () => {
    const proc = groups.spawn(process.execPath, ['-e', TREE], process.env);
    const children = await childrenOf(proc);
    groups.sample();
    expect(proc.pids.size).toBeGreaterThanOrEqual(3); // the command, its two children (and the shell's sleep)
    proc.child.kill('SIGKILL'); // what stopping only `running` did, at worst
    await proc.exited;
    expect(children.filter(isAlive)).toEqual(children); // orphans: still running, ports and all

    const started = Date.now();
    expect(await groups.stopAll({ graceMs: 300 })).toEqual([]);
    expect([...proc.pids].filter(isAlive)).toEqual([]);
    expect(Date.now() - started).toBeLessThan(300 + 3000); // SIGKILL right after the grace, not a long wait
  });

  it('stops what a command that already exited left behind', async () => {
    const proc = groups.spawn(process.execPath, ['-e', TREE], { ...process.env, LEADER_EXITS: '1' });
    const children = await childrenOf(proc);
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    expect(children.filter(isAlive)).toEqual(children);
    expect(await groups.stopAll({ graceMs: 300 })).toEqual([]);
    expect(children.filter(isAlive)).toEqual([]);
  });

  it('refuses to start anything once stopped for good (a timed-out test body going on after afterAll)', async () => {
    const late = new ProcessGroups();
    expect(await late.stopAll({ final: true })).toEqual([]);
    expect(() => late.spawn('sleep', ['600'], process.env)).toThrow(/stopped already/);
    expect(late.pids).toEqual([]);
  });
});
