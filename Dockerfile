# Build stage: compile TypeScript with the locked dev dependencies.
FROM node:24.21.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY scripts/ensure-deps.mjs scripts/build.mjs scripts/bundle-service.mjs ./scripts/
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Runtime stage: production dependencies and dist only, as a non-root user.
FROM node:24.21.0-bookworm-slim
ENV NODE_ENV=production PORT=3000
# Two malloc arenas instead of glibc's default of 8 per core: the off-heap buffers of HTTP and S3 traffic fragment
# across arenas (20,000 sessions made live, two replicas one after the other on one bucket: memory outside V8's
# heap grew 44 MB with the default, 13 MB with 2). The benchmark runs the service with the same value
# (bench/image-runtime.ts reads it here). V8's young generation is left at its default: a 4 MB semi-space saved
# 17 MB of idle RSS but cost a quarter of the throughput and more RSS per session with 50,000 sessions live.
ENV MALLOC_ARENA_MAX=2
# The service runs `node dist/main.bundle.mjs`; the package managers the base image ships are only code to scan and
# patch here (rm -f: whichever of them this Node line no longer ships is simply absent).
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack /opt/yarn-v* \
  /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg
WORKDIR /app
# Owned by root, readable by all: the node user runs the code but cannot rewrite it (compose has no read-only root).
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER node
EXPOSE 3000 9464
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# dist/main.bundle.mjs: the compiled service in one file (scripts/bundle-service.mjs); a cold replica is ready in
# about two thirds of the time of dist/main.js (same code). The lazily loaded libraries stay in node_modules.
CMD ["node", "dist/main.bundle.mjs"]
