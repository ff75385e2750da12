# syntax=docker/dockerfile:1

# Build: a static binary (modernc SQLite and pgx are pure Go, so no cgo).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/gateway ./cmd/gateway \
 && mkdir -p /out/data

# Run: distroless static (CA certificates and tzdata included, no shell),
# as the unprivileged "nonroot" user (65532).
FROM gcr.io/distroless/static-debian12:nonroot
WORKDIR /app
# The embedded SQLite default writes ./data; give the user a writable one.
COPY --from=build --chown=65532:65532 /out/data /app/data
COPY --from=build /out/gateway /gateway
USER 65532:65532
ENV GATEWAY_HTTP_ADDR=:8080 \
    DATABASE_URL=sqlite:/app/data/gateway.db
EXPOSE 8080
VOLUME ["/app/data"]
# gateway (serve), gateway migrate, gateway bootstrap -org NAME, gateway openapi
ENTRYPOINT ["/gateway"]
