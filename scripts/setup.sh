#!/usr/bin/env bash
# One-shot set-up for a fresh machine: Debian packages, then .venv with pinned Python packages.
# Idempotent: re-running it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
DEBIAN_PACKAGES="tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim chromium fonts-dejavu-core"

need_apt=()
for pkg in $DEBIAN_PACKAGES; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${need_apt[*]}"
    # OCR and the browser tests are optional for most of scicmr: a failed apt run warns, not stops.
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
          --no-install-recommends "${need_apt[@]}" >/dev/null; }; then
      echo "setup: warning: could not install ${need_apt[*]}; OCR and browser tests will be unavailable." >&2
    fi
  else
    echo "setup: warning: missing Debian packages (${need_apt[*]}); install them as root for OCR." >&2
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
# torch first, from the pinned CPU wheel, so nothing later can resolve a CUDA build.
"$VENV/bin/pip" install -q --disable-pip-version-check -c constraints.txt "torch==2.13.0" 2>&1 | grep -v "is ignored" || true
"$VENV/bin/pip" install -q --disable-pip-version-check -c constraints.txt -e ".[all,dev]" 2>&1 | grep -v "is ignored" || true
"$VENV/bin/python" -c "import scicmr, torch; print('setup: scicmr', scicmr.__version__, 'torch', torch.__version__)"
