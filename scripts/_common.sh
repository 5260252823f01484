# Shared set-up for scripts/run and scripts/test: a virtual environment with the pinned
# dependencies, reinstalled only when pyproject.toml changes. Sourced, not run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
cd "$ROOT"

say() { printf '\033[1mhki:\033[0m %s\n' "$*"; }

PYTHON="${HKI_PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  say "Python 3.11 oder neuer wird benötigt (gefunden: $("$PYTHON" --version 2>&1))."
  exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
  say "Lege die virtuelle Umgebung in .venv an …"
  "$PYTHON" -m venv "$VENV"
fi
stamp="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$VENV/.hki-installed" 2>/dev/null)" != "$stamp" ]; then
  say "Installiere Abhängigkeiten (einmalig, ca. 1 Minute) …"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[dev]"
  echo "$stamp" > "$VENV/.hki-installed"
fi
# WeasyPrint (PDF reports) needs Pango and HarfBuzz (with its subsetter) from the system.
if ! "$VENV/bin/python" -c 'import weasyprint' >/dev/null 2>&1 \
   || ! ldconfig -p 2>/dev/null | grep -q 'libharfbuzz-subset\.so\.0'; then
  if [ "$(id -u)" = 0 ]; then
    say "Installiere Pango und HarfBuzz für die PDF-Berichte (Debian-Pakete) …"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0) >/tmp/hki-apt-pango.log 2>&1 \
      || say "Pango konnte nicht installiert werden (siehe /tmp/hki-apt-pango.log)."
  else
    say "WeasyPrint braucht libpango-1.0-0, libpangoft2-1.0-0 und libharfbuzz-subset0."
  fi
fi
export PATH="$VENV/bin:$PATH"
export FLASK_APP=hki
