/**
 * The child side of the benchmark's helper processes: announces `ready`, then answers each `{ id, op }` message
 * from the orchestrator with `{ id, result }` or `{ id, error }`. `stop` ends the process after `onStop` ran.
 */
export function serveIpc<M extends { id: number; op: string }>(ready: unknown, answer: (msg: M) => Promise<unknown>, onStop: () => Promise<void>): void {
  const send = (m: unknown) => process.send?.(m);
  process.on('message', (msg: M) => {
    const reply = async (): Promise<unknown> => {
      if (msg.op !== 'stop') return answer(msg);
      await onStop();
      setImmediate(() => process.exit(0));
      return true;
    };
    reply().then(
      (result) => send({ id: msg.id, result }),
      (err: unknown) => send({ id: msg.id, error: String((err as Error)?.stack ?? err) }),
    );
  });
  send({ ready });
}
