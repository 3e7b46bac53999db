# A small runtime image of the gateway: build the release binary with the locked
# dependencies, then copy it alone into a slim, non-root runtime.
#
#   docker build -t samlet .
#   docker run -p 4000:4000 -v $PWD/examples:/etc/samlet samlet serve --config /etc/samlet/stack-a.toml
#   docker run -p 4000:4000 samlet demo --host 0.0.0.0
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin samlet

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin samlet
COPY --from=build /src/target/release/samlet /usr/local/bin/samlet
USER 10001
EXPOSE 4000
ENTRYPOINT ["/usr/local/bin/samlet"]
CMD ["demo", "--host", "0.0.0.0"]
