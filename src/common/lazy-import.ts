import { DomainError } from './domain-error.js';

/**
 * A library loaded on first use instead of at boot (a replica that never serves MCP, or never calls Gmail, never
 * pays the memory and start-up time of that library). Callers arriving while the import is in flight share it; once
 * loaded, `loaded` hands the module out synchronously. A failed import is not cached (the next request tries again)
 * and becomes a 503 whose message says what is unavailable; the cause goes to `onFailure` (the log), never to the
 * caller.
 */
export class LazyImport<M> {
  private module: M | undefined;
  private loading: Promise<M> | undefined;

  constructor(
    /** What the library serves, for the 503's message ("The MCP endpoint"). */
    private readonly feature: string,
    private readonly importer: () => Promise<M>,
    private readonly onFailure: (err: unknown) => void = () => undefined,
  ) {}

  /** The module once an import finished, else undefined (no import is started). */
  get loaded(): M | undefined {
    return this.module;
  }

  /** The module, importing it on the first call; concurrent first calls share one import. */
  load(): Promise<M> {
    if (this.module !== undefined) return Promise.resolve(this.module);
    this.loading ??= this.importer().then(
      (module) => {
        this.module = module;
        this.loading = undefined;
        return module;
      },
      (err: unknown) => {
        this.loading = undefined;
        this.onFailure(err);
        throw new DomainError(
          503,
          'feature_unavailable',
          `${this.feature} is unavailable on this instance right now: its library failed to load. Retry in a few seconds; if it keeps failing, the operator should check this instance's logs.`,
          { 'Retry-After': '5' },
        );
      },
    );
    return this.loading;
  }
}
