# Tickler's container image. Build: `docker build -t tickler .` (BuildKit, Docker's default
# builder since 23.0, is needed for the cache mounts and for skipping the unused build stage).
# Run it, compose, volumes and backups: docs/deployment.md.

# `source` compiles in the Rust image; `prebuilt` takes a `tickler` binary that is the only
# file of the build context, for machines that build the binary outside (scripts/container-test
# --binary). Either way the final stage is the same.
ARG TICKLER_BUILD=source

FROM rust:1-bookworm AS build-source
WORKDIR /src
COPY . .
# The registry and target folders are cache mounts, so a rebuild after a source change
# compiles the workspace's own crates again, not its few hundred dependencies. Cache mounts
# are not part of any layer, hence the copy of the binary out of them.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p tickler \
    && install -D target/release/tickler /out/tickler

# The binary must be built against glibc 2.36 (Debian 12) or older to run in the final stage.
FROM scratch AS build-prebuilt
COPY tickler /out/tickler

FROM build-${TICKLER_BUILD} AS build

FROM debian:bookworm-slim
# ca-certificates: the trust store that TLS to the SMTP server (and webhook receivers) is
# checked against. busybox: its wget is the HEALTHCHECK's client, 1 MB where curl and its
# libraries are about 10.
# apt-get clean too: a base image without Debian's docker-clean hook would otherwise keep
# some 90 MB of package indexes and caches in this layer.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates busybox \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*
# A fixed uid, so that a bind-mounted /data can be given to it (chown 10001) beforehand.
RUN groupadd --gid 10001 tickler \
    && useradd --uid 10001 --gid 10001 --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin tickler \
    && mkdir -p /data/outbox /data/backups \
    && chown -R 10001:10001 /data
COPY --from=build /out/tickler /usr/local/bin/tickler

# Everything that must outlive the container is under /data: the SQLite file (with its -wal
# and -shm), the outbox used while no SMTP server is set, and backups. A new named volume is
# filled from this folder, so it starts out owned by the tickler user.
ENV TICKLER_DATABASE_URL=sqlite:///data/tickler.db \
    TICKLER_OUTBOX=/data/outbox \
    TICKLER_LISTEN=0.0.0.0:8080
WORKDIR /data
VOLUME /data
USER 10001:10001
EXPOSE 8080
# /readyz answers 503 while the database is unreachable. The port follows TICKLER_LISTEN,
# read when the check runs, so that changing it does not leave the container "unhealthy".
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD busybox wget -q -O /dev/null "http://127.0.0.1:${TICKLER_LISTEN##*:}/readyz" || exit 1
# tickler itself is PID 1: it handles SIGTERM (finishes the messages in flight, then exits 0)
# and starts no child processes that would need reaping.
ENTRYPOINT ["tickler"]
CMD ["serve"]
