import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppConfig } from '../config/app-config.js';
import { Metrics } from './metrics.js';

/**
 * Serves `GET /metrics` (Prometheus text) on METRICS_PORT, a port of its own, never on the service's public port:
 * the public port is what the ingress exposes to the internet, and the metrics tell anyone how many people sign in,
 * how often security violations fire and how the replica's memory stands. Prometheus scrapes the pod's address on
 * this port; nothing routes to it from outside the cluster.
 *
 * A bare node:http server by hand, because prom-client ships none and a second Fastify instance would be a framework
 * for one read-only route; it answers nothing but `GET|HEAD /metrics`, and closes with the application.
 */
@Injectable()
export class MetricsListener implements OnApplicationShutdown {
  private server?: Server;

  constructor(
    private readonly metrics: Metrics,
    private readonly config: AppConfig,
  ) {}

  /** Starts listening on METRICS_PORT (0: any free port) at `host`; fails with the variable to change if it is taken. */
  async listen(host: string): Promise<void> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Only GET /metrics is served here.\n');
        return;
      }
      this.metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.metrics.registry.contentType, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : text),
        () => res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('Metrics could not be collected.\n'),
      );
    });
    // A scrape is one short request; a client that holds a socket open must not keep it for good.
    server.requestTimeout = 10_000;
    server.headersTimeout = 10_000;
    server.keepAliveTimeout = 5_000;
    const port = this.config.values.metricsPort;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(err.code === 'EADDRINUSE' ? Object.assign(new Error(`METRICS_PORT ${port} is already in use on ${host}: set METRICS_PORT to a free port (0 picks one).`), { code: err.code, port }) : err),
      );
      server.listen(port, host, () => resolve());
    });
    this.server = server;
  }

  /** Where the metrics are served, once listening (the port chosen when METRICS_PORT is 0). */
  get url(): string | undefined {
    const address = this.server?.address() as AddressInfo | null | undefined;
    if (!address) return undefined;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}/metrics`;
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
