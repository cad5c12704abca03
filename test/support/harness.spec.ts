import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeInOrder, startWorld, startWorldWithService, stopAll, type Service, type World } from './harness.js';
import { isAlive } from './process-groups.js';
import { startReplica } from './replica.js';

/** Servers listening in this process now (the S3 server, the Google emulator, a service...). */
const listening = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;

/** The number of servers listening once those being closed are gone (a closed server's handle goes a moment later). */
async function listeningSettled(expected: number): Promise<number> {
  const deadline = Date.now() + 3000;
  while (listening() !== expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return listening();
}

/** What the set-up and tear-down helpers leave behind when a step fails: nothing listening, nothing running. */
describe('test helpers close what they opened when a step fails', () => {
  it('closeInOrder runs every step, also those after one that failed, then throws the first failure', async () => {
    const ran: string[] = [];
    const step = (name: string, fails = false) => async () => {
      ran.push(name);
      if (fails) throw new Error(`${name} failed`);
    };
    await expect(closeInOrder(step('service', true), undefined, step('proxy', true), step('world'))).rejects.toThrow('service failed');
    expect(ran).toEqual(['service', 'proxy', 'world']);
  });

  it('startWorldWithService closes the world when the service does not start', async () => {
    const before = await listeningSettled(0);
    await expect(startWorldWithService({ JWT_SECRET: 'too short' })).rejects.toThrow(/JWT_SECRET/);
    expect(await listeningSettled(before)).toBe(before);
  });

  it('stopAll closes the world when closing the service failed', async () => {
    const before = await listeningSettled(0);
    const world = await startWorld();
    expect(listening()).toBeGreaterThan(before);
    const failing = { close: () => Promise.reject(new Error('close failed')) } as unknown as Service;
    await expect(stopAll(world, failing)).rejects.toThrow('close failed');
    expect(await listeningSettled(before)).toBe(before);
  });

  describe('startReplica', () => {
    let world: World;
    let dir: string;
    beforeAll(async () => {
      world = await startWorld();
      dir = mkdtempSync(join(tmpdir(), 'replica-spec-'));
    });
    afterAll(async () => {
      await world?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('stops a replica that never became ready before reporting it, even one that ignores SIGTERM', async () => {
      const main = join(dir, 'never-ready.mjs');
      writeFileSync(main, "import { writeFileSync } from 'node:fs';\nwriteFileSync(process.env.PID_FILE, String(process.pid));\nprocess.on('SIGTERM', () => undefined);\nsetInterval(() => undefined, 1000);\n");
      const pidFile = join(dir, 'pid');
      await expect(startReplica(main, world, { PID_FILE: pidFile }, [], 3000)).rejects.toThrow(/did not start/);
      expect(isAlive(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
    });
  });
});
