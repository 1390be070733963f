# syntax=docker/dockerfile:1
# One image for every role: api (default), worker, scheduler, migrate.
#   docker build -t flash-sale .
#   docker run --rm -e REDIS_URL=... -e DATABASE_URL=... flash-sale            # api
#   docker run --rm ... flash-sale node --import tsx worker/main.ts            # worker

# Build stage: all dependencies, and the type-check as a gate.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# patches/: postinstall mends a dependency (see patches/README.md).
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run typecheck

# Production dependencies only.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Runtime: slim Node 20, production dependencies, the sources (run by tsx), non-root.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production PORT=3000
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/package.json ./
COPY --from=build /app/api ./api
COPY --from=build /app/worker ./worker
COPY --from=build /app/scheduler ./scheduler
COPY --from=build /app/shared ./shared
COPY --from=build /app/drizzle ./drizzle
COPY --from=build /app/scripts ./scripts
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "--import", "tsx", "scripts/healthcheck.ts", "api", "3000"]
CMD ["node", "--import", "tsx", "api/main.ts"]
