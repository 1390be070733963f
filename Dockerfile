# syntax=docker/dockerfile:1
# One image for every role: api (default), worker, scheduler, migrate. It runs the
# compiled JavaScript (npm run build): no TypeScript, tsx or esbuild at run time.
#   docker build -t flash-sale .
#   docker run --rm -e REDIS_URL=... -e DATABASE_URL=... flash-sale            # api
#   docker run --rm ... flash-sale node dist/worker/main.js                     # worker

# Build stage: all dependencies, the type-check as a gate, then the build (dist/).
FROM node:24-bookworm-slim AS build
WORKDIR /app
# patches/: postinstall mends a dependency (see patches/README.md).
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run typecheck && npm run build

# Production dependencies only (patch-package is one: postinstall runs here too).
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Runtime: slim Node 24, production dependencies, the compiled build, non-root.
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production PORT=3000
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/package.json ./
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "dist/scripts/healthcheck.js", "api", "3000"]
CMD ["node", "dist/api/main.js"]
