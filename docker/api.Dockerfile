# syntax=docker/dockerfile:1
# The REST API. Build from the repository root:
#   docker build -f docker/api.Dockerfile -t api-gpu/api:0.1.0 .
# Node 24, the LTS line; scripts/check-runtime-eol.py fails the build once its end of life passes.
ARG NODE_IMAGE=node:24.19.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json nest-cli.json ./
COPY apps ./apps
COPY libs ./libs
RUN npx nest build api && npm prune --omit=dev --no-audit --no-fund --loglevel=error

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    PORT=3000
WORKDIR /app
COPY --from=build --chown=root:root /src/package.json ./
COPY --from=build --chown=root:root /src/node_modules ./node_modules
COPY --from=build --chown=root:root /src/dist/apps/api ./dist/apps/api
# The node image's unprivileged user `node`, by number so Kubernetes' runAsNonRoot can verify it;
# the code stays root-owned so the process cannot rewrite it.
USER 1000:1000
EXPOSE 3000
# No curl in the slim image: Node's own fetch asks /health, which also pings Redis and MinIO.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/apps/api/main.js"]
