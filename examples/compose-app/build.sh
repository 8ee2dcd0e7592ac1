#!/bin/sh
# Builds the sample's images locally (nothing is pulled):
#   fraisier-sample:v1, fraisier-sample:v2  healthy, their page names their version
#   fraisier-sample:broken                  serves nothing at /, so its HEALTHCHECK fails
# Needs a static busybox (Debian: busybox-static) and a Docker engine.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
busybox=${BUSYBOX:-/bin/busybox}
[ -x "$busybox" ] || { echo "build.sh: no busybox at $busybox (install busybox-static or set BUSYBOX)" >&2; exit 1; }

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "$busybox" "$ctx/busybox"
cp "$here/Dockerfile" "$ctx/Dockerfile"

build() { # version, with-page
  rm -rf "$ctx/www" && mkdir "$ctx/www"
  if [ "$2" = yes ]; then
    sed "s/@VERSION@/$1/" "$here/www/index.html" > "$ctx/www/index.html"
  fi
  docker build -q -t "fraisier-sample:$1" "$ctx" >/dev/null
  echo "built fraisier-sample:$1"
}

build v1 yes
build v2 yes
build broken no

# fraisier-busybox:latest: busybox alone, its applet chosen by the compose file's command (the projects tour).
rm -rf "$ctx/www" && mkdir "$ctx/www" && echo "a fraisier project" > "$ctx/www/index.html"
printf 'FROM scratch\nCOPY busybox /busybox\nCOPY www /www\nSTOPSIGNAL SIGKILL\nENTRYPOINT ["/busybox"]\n' > "$ctx/Dockerfile"
docker build -q -t fraisier-busybox:latest "$ctx" >/dev/null
echo "built fraisier-busybox:latest"
