/**
 * At most one run per key at a time: callers asking for a key while its run is in flight share that run's promise
 * (one S3 read or one Google refresh per user, however many requests arrive together). Nothing is kept after the
 * run settles; caching the result is the caller's job.
 */
export class SingleFlight<V> {
  private readonly running = new Map<string, Promise<V>>();

  /** How many keys have a run in flight. */
  get size(): number {
    return this.running.size;
  }

  /** Whether `key` has a run in flight (a caller would share it). */
  has(key: string): boolean {
    return this.running.has(key);
  }

  /** The run in flight for `key`, or a new one started with `start`. */
  run(key: string, start: () => Promise<V>): Promise<V> {
    const running = this.running.get(key);
    if (running) return running;
    const flight = start().finally(() => this.running.delete(key));
    this.running.set(key, flight);
    return flight;
  }
}
