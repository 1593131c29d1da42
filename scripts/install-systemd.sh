#!/usr/bin/env bash
# Installs push-websocket under a prefix with its production dependencies, and its
# systemd unit; then prints the systemctl commands to run. Run from a checkout:
#
#   npm ci && npm run build && sudo scripts/install-systemd.sh [--prefix DIR] [--unit-dir DIR]
#       [--env-file FILE] [--admin-token-file FILE|-]
#
# or from the installed package (npm install -g push-websocket):
#   sudo "$(npm root -g)/push-websocket/scripts/install-systemd.sh" [options]
#
# Defaults: --prefix /opt/push-websocket, --unit-dir /etc/systemd/system,
# --env-file /etc/default/push-websocket (written only if it does not exist yet).
# --admin-token-file: the first line of FILE (- for stdin) becomes PUSH_WS_ADMIN_TOKEN in
# the env file (made readable by root only), e.g. `openssl rand -hex 32 | sudo ... -`;
# without it no token is written. The token never appears on a command line.
set -euo pipefail

prefix=/opt/push-websocket
unit_dir=/etc/systemd/system
env_file=/etc/default/push-websocket
admin_token_file=
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=$2; shift 2 ;;
    --unit-dir) unit_dir=$2; shift 2 ;;
    --env-file) env_file=$2; shift 2 ;;
    --admin-token-file) admin_token_file=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "install-systemd.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

# Read and check the admin token before installing anything (read is a shell builtin:
# the token is in no process's argv).
admin_token=
if [ -n "$admin_token_file" ]; then
  if [ "$admin_token_file" = - ]; then
    IFS= read -r admin_token || true
  else
    [ -r "$admin_token_file" ] || { echo "install-systemd.sh: cannot read $admin_token_file" >&2; exit 2; }
    IFS= read -r admin_token < "$admin_token_file" || true
  fi
  admin_token=${admin_token%$'\r'}
  if [ ${#admin_token} -lt 8 ] || [[ "$admin_token" =~ [[:space:]\"\'\\] ]]; then
    echo "install-systemd.sh: the admin token must be at least 8 characters, without spaces, quotes or backslashes" >&2
    exit 2
  fi
fi

src=$(cd "$(dirname "$0")/.." && pwd)
node=$(command -v node) || { echo "install-systemd.sh: node not found on PATH" >&2; exit 1; }
node=$(readlink -f "$node")
[ -f "$src/dist/src/main.js" ] || { echo "install-systemd.sh: run 'npm run build' first" >&2; exit 1; }

# What runs: the compiled master and workers, the built page and client library, the
# command; and the README with the docs/ pages it links to. The same set from a checkout
# (which also has sources and tests) and from the package. (src/client is where an older
# version kept the page.)
mkdir -p "$prefix/dist" "$unit_dir" "$(dirname "$env_file")"
rm -rf "$prefix/dist/src" "$prefix/dist/workers" "$prefix/dist/client" "$prefix/src/client" "$prefix/bin" "$prefix/docs"
cp -R "$src/dist/src" "$src/dist/workers" "$src/dist/client" "$prefix/dist/"
cp -R "$src/bin" "$src/docs" "$prefix/"
cp "$src/package.json" "$src/README.md" "$prefix/"
npm_flags=(--omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error)
if [ -f "$src/package-lock.json" ]; then
  # A checkout: exactly the locked versions.
  cp "$src/package-lock.json" "$prefix/"
  (cd "$prefix" && npm ci "${npm_flags[@]}")
else
  # A package carries no lock file: the ranges of its package.json.
  rm -f "$prefix/package-lock.json"
  (cd "$prefix" && npm install --no-package-lock "${npm_flags[@]}")
fi

unit="$unit_dir/push-websocket.service"
sed -e "s|@NODE@|$node|g" -e "s|@PREFIX@|$prefix|g" "$src/scripts/push-websocket.service" > "$unit"
if [ "$env_file" != /etc/default/push-websocket ]; then
  sed -i "s|^EnvironmentFile=.*|EnvironmentFile=-$env_file|" "$unit"
fi

if [ ! -e "$env_file" ]; then
  cat > "$env_file" <<'ENV'
# push-websocket settings: PUSH_WS_<FLAG>=value, one a line (see docs/cli.md).
#PUSH_WS_HOST=127.0.0.1
#PUSH_WS_PORT=5001
#PUSH_WS_MAX_CLIENTS=256
# Idle workers kept ready: N, or MIN:MAX to hold more while clients arrive (e.g. 2:8).
#PUSH_WS_SPARE_WORKERS=2
#PUSH_WS_LOG_FORMAT=json
# Behind nginx on this box (see deploy/nginx/): believe its X-Forwarded-For.
#PUSH_WS_TRUST_PROXY=127.0.0.1
# PUSH_WS_ADMIN_TOKEN=... protects /status and /metrics (install with --admin-token-file).
ENV
fi

if [ -n "$admin_token" ]; then
  # Replace any token line, keep the rest; the file holds a secret: root only.
  tmp=$(mktemp "$env_file.XXXXXX")
  chmod 600 "$tmp"
  grep -v '^[[:space:]]*PUSH_WS_ADMIN_TOKEN=' "$env_file" > "$tmp" || true
  printf 'PUSH_WS_ADMIN_TOKEN=%s\n' "$admin_token" >> "$tmp"
  mv "$tmp" "$env_file"
  echo "Wrote the admin token to $env_file (mode 600)."
fi

echo "Installed push-websocket in $prefix and its unit as $unit."
echo "Settings: $env_file. Now run:"
echo "  systemctl daemon-reload"
echo "  systemctl enable --now push-websocket"
echo "  systemctl status push-websocket"
echo "  journalctl -u push-websocket -f"
