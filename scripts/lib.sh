# Shared by scripts/run and scripts/test: install what is missing on a Debian
# machine (as root) and start the services the tests need. Sourced, not run.

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "error: '$*' needs root; run as root or install sudo" >&2; return 1; fi
}

apt_updated=""
# ensure_packages PKG...: apt-get install the packages that are not installed yet.
ensure_packages() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# ensure_rust: a stable Rust toolchain with rustfmt and clippy.
ensure_rust() {
  [ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"
  if ! command -v cargo >/dev/null; then
    say "installing the Rust toolchain (rustup, stable)"
    if apt-cache policy rustup 2>/dev/null | grep -q 'Candidate: [0-9]'; then
      ensure_packages rustup    # Debian 13 and later package rustup
      rustup default stable
    else
      # Debian 12 has no rustup package (and its cargo is too old): the
      # official installer, which verifies what it downloads over HTTPS.
      ensure_packages curl ca-certificates
      curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
      export PATH="$HOME/.cargo/bin:$PATH"
    fi
  fi
  if command -v rustup >/dev/null; then
    rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
    rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
  fi
}

export TEST_POSTGRES_URL="${TEST_POSTGRES_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres}"
export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379}"

# ensure_postgres: PostgreSQL answering on 127.0.0.1:5432 for TEST_POSTGRES_URL.
ensure_postgres() {
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    ensure_packages postgresql postgresql-client
    local version
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    say "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null ||
      as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  if ! psql "$TEST_POSTGRES_URL" -Atc 'select 1' >/dev/null 2>&1; then
    # A fresh Debian install asks a password on TCP: give the test role one.
    say "setting the password of PostgreSQL role postgres for the tests"
    as_root su postgres -c "psql -qc \"ALTER ROLE postgres PASSWORD 'postgres'\""
  fi
  psql "$TEST_POSTGRES_URL" -Atc 'select 1' >/dev/null
  # Databases left behind by an interrupted earlier run.
  psql "$TEST_POSTGRES_URL" -Atc "select datname from pg_database where datname like 'di_test_%'" |
    while read -r db; do psql "$TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"; done
}

# ensure_redis: Redis answering on 127.0.0.1:6379.
ensure_redis() {
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    ensure_packages redis-server redis-tools
    say "starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
    for _ in $(seq 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
  fi
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null
}

# ensure_node: Node.js and npm for the JS SDK (Debian's, unless a node is
# already on the PATH), and Chromium for its browser tests.
ensure_node() {
  command -v node >/dev/null && command -v npm >/dev/null || ensure_packages nodejs npm
  ensure_packages chromium chromium-driver fonts-liberation
}
