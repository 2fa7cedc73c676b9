# syntax=docker/dockerfile:1
# The infrasec controller image: `infrasec run` (the compiled dist/, production dependencies only) as a non-root user, /healthz as HEALTHCHECK.

# 1. Production dependencies only.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# 2. Build dist/ with the dev dependencies (TypeScript, and tsx for the step that precompiles the JSON Schemas into
#    dist/desired/schema-validators.cjs); only dist/ leaves this stage.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src src
COPY schemas schemas
COPY scripts/build-validators.ts scripts/
RUN npm run build

# 3. Runtime: git (+ ssh, gpg for signed commits), age for encrypted secrets, tini to forward signals and reap git's children.
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends git openssh-client gnupg age ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 infrasec \
 && useradd --system --uid 10001 --gid infrasec --home-dir /var/lib/infrasec --create-home --shell /usr/sbin/nologin infrasec
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json ./
COPY schemas schemas
ENV NODE_ENV=production \
    HOME=/var/lib/infrasec \
    INFRASEC_STATE_DIR=/var/lib/infrasec \
    INFRASEC_LISTEN=0.0.0.0:9400
USER infrasec:infrasec
VOLUME ["/var/lib/infrasec"]
EXPOSE 9400
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "const p=(process.env.INFRASEC_LISTEN||':9400').split(':').pop();fetch('http://127.0.0.1:'+p+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM (docker stop) lets the change in flight finish; give it time with `docker stop -t 60`.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/cli.js"]
CMD ["run"]
