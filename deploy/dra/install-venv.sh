#!/usr/bin/env bash
# Create (or reuse) the Python venv used by deploy/dra/check-resourceslices.py
# and print the path of its python interpreter on stdout.
#
#   venv: ${XDG_CACHE_HOME:-$HOME/.cache}/capreg/dra-venv   (override: CAPREG_DRA_VENV)
#   pins: kubernetes (official client; models include V1ResourceSlice, resource.k8s.io/v1)
#         cel-python (module `celpy`, pure-Python CEL)
#
# Idempotent: if the venv already has exactly the pinned versions, nothing is
# installed. All progress goes to stderr, so `PY=$(deploy/dra/install-venv.sh)` works.
set -euo pipefail

KUBERNETES_VERSION=37.0.2
CEL_PYTHON_VERSION=0.5.0

VENV="${CAPREG_DRA_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/capreg/dra-venv}"
PY="$VENV/bin/python"
BASE_PYTHON="${PYTHON:-python3}"

have_pins() {
    [ -x "$PY" ] || return 1
    "$PY" - "$KUBERNETES_VERSION" "$CEL_PYTHON_VERSION" <<'EOF' 2>/dev/null
import sys
from importlib.metadata import version
ok = version("kubernetes") == sys.argv[1] and version("cel-python") == sys.argv[2]
import celpy, kubernetes.client  # noqa: F401  (must import, not just be listed)
sys.exit(0 if ok and hasattr(kubernetes.client, "V1ResourceSlice") else 1)
EOF
}

if ! have_pins; then
    if ! "$BASE_PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)'; then
        echo "install-venv.sh: $BASE_PYTHON must be Python >= 3.9" >&2
        exit 1
    fi
    if [ ! -x "$PY" ]; then
        echo "install-venv.sh: creating $VENV" >&2
        mkdir -p "$(dirname "$VENV")"
        "$BASE_PYTHON" -m venv "$VENV" >&2
    fi
    echo "install-venv.sh: installing kubernetes==$KUBERNETES_VERSION cel-python==$CEL_PYTHON_VERSION" >&2
    "$PY" -m pip install --disable-pip-version-check --quiet \
        "kubernetes==$KUBERNETES_VERSION" "cel-python==$CEL_PYTHON_VERSION" >&2
    if ! have_pins; then
        echo "install-venv.sh: venv at $VENV does not import the pinned packages" >&2
        exit 1
    fi
fi

echo "$PY"
