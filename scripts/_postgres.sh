# Start the machine's PostgreSQL 15 cluster and create hki's role and test database.
# Sourced by scripts/test; sets HKI_PG_URL on success, returns non-zero with one clear
# line on failure.
ensure_postgres() {
  local db="${1:-hki_test}"
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
      say "PostgreSQL fehlt – installiere das Debian-Paket postgresql …"
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) \
        >/tmp/hki-apt-postgresql.log 2>&1 || { say "PostgreSQL konnte nicht installiert werden (siehe /tmp/hki-apt-postgresql.log)."; return 1; }
    else
      say "PostgreSQL ist nicht installiert und dieses Skript läuft nicht als root."
      return 1
    fi
  fi
  local version
  version="$(pg_lsclusters -h 2>/dev/null | awk 'NR==1 {print $1}')"
  version="${version:-15}"
  if ! pg_isready -q -h localhost -p 5432 2>/dev/null; then
    pg_ctlcluster "$version" main start >/dev/null 2>&1 || true
    for _ in $(seq 1 40); do pg_isready -q -h localhost -p 5432 && break; sleep 0.5; done
  fi
  if ! pg_isready -q -h localhost -p 5432; then
    say "PostgreSQL konnte nicht gestartet werden (pg_ctlcluster $version main start)."
    return 1
  fi
  su postgres -c "psql -v ON_ERROR_STOP=1 -q" >/dev/null <<SQL || { say "Rolle/Datenbank für hki konnten nicht angelegt werden."; return 1; }
SELECT 'CREATE ROLE hki LOGIN CREATEDB PASSWORD ''hki''' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname='hki')\gexec
SELECT 'CREATE DATABASE $db OWNER hki' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname='$db')\gexec
SQL
  HKI_PG_URL="postgresql+psycopg://hki:hki@localhost:5432/$db"
  export HKI_PG_URL
}
