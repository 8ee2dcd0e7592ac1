#!/usr/bin/env bash
# npm run setup: makes a Debian machine ready to run and test fraisier. Idempotent: skips what is present.
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPORAL_CLI_MODULE="github.com/temporalio/cli/cmd/temporal@v1.5.1"
COMPOSE_V2_VERSION="v2.40.3"
TEMPORAL_SERVER_MODULE="go.temporal.io/server"   # keep the version in step with workers/cluster.ts
TEMPORAL_SERVER_VERSION="v1.29.1"
say() { printf '[setup] %s\n' "$*"; }

# 1. System packages the tests use (as root on Debian only; elsewhere, say what is missing).
missing=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
have_pkg busybox-static || missing+=(busybox-static)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
{ compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null && id -u postgres >/dev/null 2>&1; } || missing+=(postgresql)  # the tests run it as the postgres user
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    say "missing system packages: ${missing[*]} (install them as root: apt-get install ${missing[*]}); the integration tests need them"
  fi
else
  say "system packages present"
fi

# 1b. The OS user the bare_metal integration tests log in as over ssh (a throwaway sshd on 127.0.0.1 per test
#     file). As root only; otherwise those tests log in as the current user. useradd leaves the password field
#     "!" (locked), and sshd with UsePAM no refuses every login to a locked account, public keys included: "*"
#     keeps password logins impossible without locking the account.
if [ "$(id -u)" = 0 ]; then
  if id -u fraisier-ssh >/dev/null 2>&1; then
    say "user fraisier-ssh present"
  else
    say "creating the system user fraisier-ssh (the bare_metal tests log in as it over ssh)"
    useradd --system --create-home --shell /bin/sh fraisier-ssh
  fi
  if [ "$(getent shadow fraisier-ssh | cut -d: -f2)" != '*' ]; then
    say "fraisier-ssh: no password, key logins only (usermod -p '*')"
    usermod -p '*' fraisier-ssh
  fi
else
  say "not root: the bare_metal tests log in over ssh as $(id -un)"
fi

# 2. npm dependencies at the locked versions. (`npm install`, not `npm ci`: this npm writes lock files without
#    other platforms' optional packages and then `npm ci` refuses them as out of sync.)
if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then
  say "npm dependencies up to date"
else
  say "installing npm dependencies"
  npm install --no-audit --no-fund
fi

# 3. The temporal CLI (dev server and Web UI): $TEMPORAL_CLI, one on PATH, or built from the pinned module.
if [ -n "${TEMPORAL_CLI:-}" ] && [ -x "$TEMPORAL_CLI" ]; then
  say "temporal CLI from TEMPORAL_CLI: $TEMPORAL_CLI"
elif [ -x .tools/bin/temporal ]; then
  say "temporal CLI present in .tools/bin"
elif command -v temporal >/dev/null 2>&1; then
  say "temporal CLI on PATH: $(command -v temporal)"
else
  command -v go >/dev/null 2>&1 || { say "no temporal CLI and no Go toolchain to build it: install Go, or set TEMPORAL_CLI"; exit 1; }
  say "building $TEMPORAL_CLI_MODULE into .tools/bin (the first build takes a few minutes)"
  mkdir -p .tools/bin
  GOBIN="$PWD/.tools/bin" go install "$TEMPORAL_CLI_MODULE"
fi
# 3b. The Temporal server itself, for `npm run cluster` (four services as separate processes on PostgreSQL):
#     temporal-server and temporal-sql-tool built from the pinned module, and the PostgreSQL schemas shipped in
#     that module copied next to them (so a `go clean -modcache` does not take them away). The first build
#     takes about 3 minutes on 2 cores; the dev server of `npm start` does not need any of it.
if [ -x .tools/bin/temporal-server ] && [ -x .tools/bin/temporal-sql-tool ] && [ -d .tools/temporal-schema/postgresql/v12 ]; then
  say "temporal server $TEMPORAL_SERVER_VERSION present in .tools/bin (temporal-server, temporal-sql-tool)"
elif ! command -v go >/dev/null 2>&1; then
  say "no Go toolchain to build the temporal server: npm run cluster will not work (npm start's dev server does not need it)"
else
  mkdir -p .tools/bin .tools/build
  if [ ! -x .tools/bin/temporal-server ] || [ ! -x .tools/bin/temporal-sql-tool ]; then
    say "building $TEMPORAL_SERVER_MODULE $TEMPORAL_SERVER_VERSION (temporal-server, temporal-sql-tool) into .tools/bin (the first build takes about 3 minutes)"
    # go install names a binary after its package directory (server, sql): installed aside, then renamed.
    GOBIN="$PWD/.tools/build" go install "$TEMPORAL_SERVER_MODULE/cmd/server@$TEMPORAL_SERVER_VERSION" "$TEMPORAL_SERVER_MODULE/cmd/tools/sql@$TEMPORAL_SERVER_VERSION"
    mv -f .tools/build/server .tools/bin/temporal-server
    mv -f .tools/build/sql .tools/bin/temporal-sql-tool
  fi
  say "copying the temporal server's PostgreSQL schemas into .tools/temporal-schema"
  go mod download "$TEMPORAL_SERVER_MODULE@$TEMPORAL_SERVER_VERSION"
  rm -rf .tools/temporal-schema
  mkdir -p .tools/temporal-schema
  cp -R "$(go env GOMODCACHE)/$TEMPORAL_SERVER_MODULE@$TEMPORAL_SERVER_VERSION/schema/postgresql" .tools/temporal-schema/
  chmod -R u+w .tools/temporal-schema   # the module cache is read-only
  rmdir .tools/build 2>/dev/null || true
  say "temporal server built: $(.tools/bin/temporal-server --version)"
fi
# 4. The docker compose v2 plugin (v1, docker-compose, comes from apt), so both are tested for real: built from
#    the pinned module when absent. `go install module@version` refuses compose's go.mod (it has exclude
#    directives), so it is built inside the downloaded module.
if docker compose version >/dev/null 2>&1; then
  say "docker compose plugin present: $(docker compose version --short 2>/dev/null)"
elif ! command -v go >/dev/null 2>&1; then
  say "no docker compose v2 plugin and no Go toolchain to build it: its integration tests will be skipped"
else
  if [ "$(id -u)" = 0 ]; then plugin_dir=/usr/local/lib/docker/cli-plugins; else plugin_dir="$HOME/.docker/cli-plugins"; fi
  say "building docker compose $COMPOSE_V2_VERSION into $plugin_dir (the first build takes a few minutes)"
  go mod download "github.com/docker/compose/v2@$COMPOSE_V2_VERSION"
  mkdir -p "$plugin_dir"
  (cd "$(go env GOMODCACHE)/github.com/docker/compose/v2@$COMPOSE_V2_VERSION" &&
    go build -trimpath -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_V2_VERSION" \
      -o "$plugin_dir/docker-compose" ./cmd)
  say "docker compose plugin built: $(docker compose version --short)"
fi
say "ready: npm test runs the suite, npm start runs fraisier"
