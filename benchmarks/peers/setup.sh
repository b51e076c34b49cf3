#!/usr/bin/env bash
# Create the benchmark-only peer venv at benchmarks/peers/.venv and install RecTools into it.
# torch goes in first (the CPU build, 2.13.0), then the rest with torch pinned as a constraint:
# an unpinned resolve could replace it with a multi-GB CUDA build.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
torch_version="2.13.0"
python="${PYTHON:-python3}"

[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/pip" install --quiet "torch==$torch_version"

constraint="$(mktemp)"
trap 'rm -f "$constraint"' EXIT
echo "torch==$torch_version" > "$constraint"
"$venv/bin/pip" install --quiet -c "$constraint" -r "$here/requirements.txt"

"$venv/bin/python" -c "import rectools, torch; print('rectools', rectools.__version__, 'torch', torch.__version__)"
