#!/usr/bin/env sh
# The one build command of the starsink binary: the Dockerfile runs it, and
# deploy/deploy_test.go runs it too, so the image's build is tested without
# a Docker engine.
#   deploy/build.sh [output] [version]
set -eu
out=${1:-bin/starsink}
version=${2:-${VERSION:-dev}}
CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${version}" -o "$out" ./cmd/starsink
