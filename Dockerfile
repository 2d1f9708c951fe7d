# syntax=docker/dockerfile:1
#
# A small image of the chatroom server:
#   docker build -t chatroom .
#   docker run -d --name chatroom -v chatroom-data:/data \
#     -p 5555:5555 -p 6667:6667 -p 8080:8080 -p 127.0.0.1:9555:9555 chatroom
#
# Reload the configuration: docker kill --signal=HUP chatroom
# Your own configuration: -v /etc/chatroom/chatroom.toml:/etc/chatroom/chatroom.toml:ro
#
# The admin listener (metrics, health) listens on every address *inside* the
# container (CHATROOM_ADMIN__LISTEN below) so that Prometheus on the host or
# on the container network can scrape it; publish it on the host's loopback
# only (-p 127.0.0.1:9555:9555), never on a public address: it has no
# authentication. The HEALTHCHECK runs inside the container and asks it over
# loopback with the binary itself (`chatroom --check-health`): no curl in
# the image.

# --- build ------------------------------------------------------------------
FROM rust:1-bookworm AS build
# `--build-arg CARGO_BUILD_JOBS=1` on a small machine; unset, cargo uses
# every core.
ARG CARGO_BUILD_JOBS
WORKDIR /src
# Dependencies first, in a layer of their own that only Cargo.toml and
# Cargo.lock invalidate: stub sources, then the real ones.
COPY Cargo.toml Cargo.lock ./
# jemalloc's build-time settings (tikv-jemalloc-sys reads them).
COPY .cargo .cargo
COPY bench/Cargo.toml bench/Cargo.toml
RUN mkdir -p src bench/src benches \
    && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && echo 'fn main() {}' > bench/src/main.rs \
    && echo 'fn main() {}' > benches/hot_paths.rs \
    && cargo build --release --locked -p chatroom --bin chatroom \
    && rm -rf src bench/src benches
COPY . .
# Cargo's fingerprints are by mtime: make sure the real sources are newer.
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked -p chatroom --bin chatroom \
    && strip target/release/chatroom \
    && cp target/release/chatroom /usr/local/bin/chatroom

# --- run --------------------------------------------------------------------
FROM debian:bookworm-slim
# No package is needed: rustls (TLS), SQLite and jemalloc are built in; the
# only shared libraries are libc, libm and libgcc_s, all in the base image.
RUN groupadd --system --gid 10001 chatroom \
    && useradd --system --uid 10001 --gid chatroom --home-dir /data \
       --shell /usr/sbin/nologin chatroom \
    && mkdir -p /data /etc/chatroom \
    && chown chatroom:chatroom /data
COPY --from=build /usr/local/bin/chatroom /usr/local/bin/chatroom
COPY config/default.toml /etc/chatroom/chatroom.toml
USER chatroom:chatroom
# The relative paths of the configuration (data/history.db, data/files,
# data/tls) land in the volume.
WORKDIR /data
VOLUME ["/data"]
ENV CHATROOM_LOG__DIR="" \
    CHATROOM_ADMIN__LISTEN="0.0.0.0:9555"
# native, IRC, HTTP (web client, WebSocket, file links), admin (metrics,
# health: publish on loopback only). Turn TLS listeners on in the
# configuration and publish 5556/6697/8443 as well.
EXPOSE 5555 6667 8080 9555
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["chatroom", "--config", "/etc/chatroom/chatroom.toml", "--check-health"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["chatroom", "--config", "/etc/chatroom/chatroom.toml"]
