# One image with every Apiary binary; compose picks the binary with `command`.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --workspace --bins

FROM debian:bookworm-slim
COPY --from=build /src/target/release/apiary /src/target/release/apiary-load /src/target/release/dashboard /src/target/release/gateway /src/target/release/catalog /src/target/release/cart /src/target/release/checkout /src/target/release/inventory /src/target/release/payment /src/target/release/shipping /src/target/release/reviews /src/target/release/recommendations /src/target/release/orders /usr/local/bin/
# Durable services write their SQLite files here (a volume in compose.yaml).
RUN mkdir /data && chown 65534:65534 /data
USER 65534:65534
