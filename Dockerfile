# One image with every Apiary binary and the dashboard's UI bundle; compose picks the binary
# with `command`.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# protoc for the flagd provider's generated code; npm for wasm-opt (scripts/lib.sh says why).
RUN apt-get update \
 && apt-get install -y --no-install-recommends protobuf-compiler npm \
 && rm -rf /var/lib/apt/lists/*
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
