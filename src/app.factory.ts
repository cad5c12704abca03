import fastifyCookie from '@fastify/cookie';
import { ConsoleLogger, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';

export interface CreateAppOptions {
  /** The environment to configure from (default: process.env). */
  env?: Record<string, string | undefined>;
  logger?: LoggerService;
}

/** Builds the service on Fastify (chosen for throughput on the bearer-validated hot path). Not yet listening. */
export async function createApp(options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({ trustProxy: true, bodyLimit: 1024 * 1024, return503OnClosing: true });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(options.env ?? process.env), adapter, {
    logger: options.logger ?? new ConsoleLogger({ json: true, colors: false }),
    abortOnError: false,
  });
  // Form bodies (POST /auth/revoke) are parsed by Nest's Fastify adapter itself.
  await app.register(fastifyCookie as never);
  app.enableShutdownHooks();
  return app;
}
