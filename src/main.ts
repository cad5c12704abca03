import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp, listen } from './app.factory.js';
import { AppConfig } from './config/app-config.js';

/** Production entry point: configuration from the environment, listens on PORT (and METRICS_PORT) on all interfaces. */
async function main(): Promise<void> {
  const app = await createApp({ processWarnings: true });
  const { port } = app.get(AppConfig).values;
  await listen(app, port, '0.0.0.0');
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    new Logger('Lifecycle').log({ msg: 'shutting down', signal });
    // close(): readiness turns 503 for SHUTDOWN_DELAY_MS, then the server stops accepting and drains in-flight
    // requests (for at most SHUTDOWN_DRAIN_MS); only then does the process exit, with 0, so Kubernetes sees a clean stop.
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  // Boot errors (configuration, bucket, credentials) carry the operator's next step; no stack needed.
  console.error(JSON.stringify({ level: 'fatal', msg: 'service failed to start', error: (err as Error)?.name, detail: (err as Error)?.message }));
  process.exit(1);
});
