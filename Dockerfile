# starsink container image: a static binary on distroless, non-root.
#   docker build -t starsink .
#   docker run -v $PWD/starsink.yaml:/etc/starsink/config.yaml starsink
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN sh deploy/build.sh /out/starsink "$VERSION"

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/starsink /starsink
USER nonroot:nonroot
EXPOSE 8080
# Configuration by file (/etc/starsink/config.yaml) and STARSINK_* variables.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 CMD ["/starsink", "healthcheck"]
ENTRYPOINT ["/starsink"]
CMD ["run", "--config", "/etc/starsink/config.yaml"]
