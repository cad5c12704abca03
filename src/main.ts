import 'reflect-metadata';
import { createApp } from './app.factory.js';
import { AppConfig } from './config/app-config.js';

/** Production entry point: configuration from the environment, listens on PORT on all interfaces. */
async function main(): Promise<void> {
  const app = await createApp();
  const { port } = app.get(AppConfig).values;
  await app.listen(port, '0.0.0.0');
}

main().catch((err: unknown) => {
  // Boot errors (configuration, bucket, credentials) carry the operator's next step; no stack needed.
  console.error(JSON.stringify({ level: 'fatal', msg: 'service failed to start', error: (err as Error)?.name, detail: (err as Error)?.message }));
  process.exit(1);
});
