# One image with every Apiary binary; compose picks the binary with `command`.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --workspace --bins

FROM debian:bookworm-slim
COPY --from=build /src/target/release/apiary /src/target/release/catalog /src/target/release/gateway /src/target/release/dashboard /usr/local/bin/
USER 65534:65534
