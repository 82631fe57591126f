# syntax=docker/dockerfile:1
#
# quench: one static binary, run as `quench worker` or `quench serve`.
#   docker build -t quench .
#   docker run --rm quench --help

FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so editing code does not re-download them.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# Static (no cgo): the final image has no libc to link against. The Temporal
# server that `quench dev` embeds uses a pure-Go SQLite, so nothing needs cgo.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/quench ./cmd/quench

# Alpine rather than distroless: busybox wget lets compose health-check
# /healthz. The binary is static either way.
FROM alpine:3.24
RUN apk add --no-cache ca-certificates tzdata \
    && addgroup -g 10001 -S quench \
    && adduser -u 10001 -S -D -H -G quench -s /sbin/nologin quench
COPY --from=build /out/quench /quench
# A numeric user, so Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["/quench"]
CMD ["--help"]
