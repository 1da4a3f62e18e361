# One image with every Apiary binary and the dashboard's UI bundle; compose and Kubernetes pick
# the binary with `command`.
#
# Dependencies are built in their own layer from a recipe of the workspace's manifests and
# lockfile (cargo-chef), so a change to Apiary's own code rebuilds only Apiary's crates.
FROM rust:1.95-slim-bookworm AS chef
WORKDIR /src
# protoc for the flagd provider's generated code; npm for wasm-opt (scripts/lib.sh says why).
RUN apt-get update \
 && apt-get install -y --no-install-recommends protobuf-compiler npm \
 && rm -rf /var/lib/apt/lists/*
RUN cargo install cargo-chef --version 0.1.78 --locked

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --workspace --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --workspace --bins
# The UI bundle exactly as `scripts/up.sh` builds it (wasm, optimised, precompressed), after
# the release build, which has already compiled the bundle task (crates/ui-build).
RUN bash -c '. scripts/lib.sh && ensure_ui_tools && build_ui'

FROM debian:bookworm-slim
COPY --from=build /src/target/release/apiary /src/target/release/apiary-load /src/target/release/dashboard /src/target/release/gateway /src/target/release/catalog /src/target/release/cart /src/target/release/checkout /src/target/release/inventory /src/target/release/payment /src/target/release/shipping /src/target/release/reviews /src/target/release/recommendations /src/target/release/orders /src/target/release/notifications /usr/local/bin/
COPY --from=build /src/target/site /usr/local/share/apiary/site
ENV DASHBOARD_SITE_ROOT=/usr/local/share/apiary/site
# Durable services write their SQLite files here (a volume in compose.yaml).
RUN mkdir /data && chown 65534:65534 /data
USER 65534:65534
# Every Apiary process answers /health/live on its APIARY_PORT (the dashboard's default is
# 8080). The slim image has no curl: bash's /dev/tcp speaks the one HTTP request.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${APIARY_PORT:-8080} && printf 'GET /health/live HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
