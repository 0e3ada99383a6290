#!/usr/bin/env python3
"""Writes the labelled answer-checker corpus, tests/checker/corpus.jsonl (and the few output
files some chart cases point at, under tests/checker/outputs/).

Every case is an answer to a grounded task written the way models write final answers —
markdown, bold, units, sentences, "approximately", percentages, tables, JSON, Python reprs —
labelled with the outcome a careful grader gives it:

* ``pass``: the right value, however it is written (reformatted, rounded to at least three
  significant digits, a percentage, a thousands separator, a set in another order, ...);
* ``wrong``: a value of the right kind that is not the truth (outside the tolerance, the wrong
  sign, the wrong category, one set element different, a top-k list with a swapped pair, ...);
* ``unextractable``: no value of the expected kind at all.

Each line is one case in the input form of ``dasynth check``: ``id``, ``answer_type``,
``truth``, ``checker`` (a template's ``[checker]`` options), ``answer``, optional ``files`` and
``outputs_dir`` (relative to this folder), ``expected`` and ``variation`` (which kind of
answer it is). The generator is deterministic: run it again and the files do not change.

    python3 tests/checker/make_corpus.py [OUT_DIR]     # OUT_DIR defaults to this folder
"""

import json
import math
import os
import random
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else HERE
SEED = 14

R = random.Random(SEED)
CASES = []


def add(answer_type, truth, answer, expected, variation, checker=None, files=None, outputs_dir=None):
    case = {
        "id": "%s-%04d" % (answer_type, sum(1 for c in CASES if c["answer_type"] == answer_type) + 1),
        "answer_type": answer_type,
        "truth": truth,
        "checker": checker or {},
        "answer": answer,
    }
    if files is not None:
        case["files"] = files
    if outputs_dir is not None:
        case["outputs_dir"] = outputs_dir
    case["expected"] = expected
    case["variation"] = variation
    CASES.append(case)


def pick(xs):
    return xs[R.randrange(len(xs))]


# ---------------------------------------------------------------------------------------------
# Writing numbers


def decimals_needed(x):
    """Fewest decimals that keep half a unit of the last digit within 1% of |x| (three
    significant digits, roughly)."""
    if x == 0:
        return 2
    return max(0, math.ceil(math.log10(50.0 / abs(x))))


def fmt(x, d, thousands=False):
    s = ("{:,.%df}" if thousands else "{:.%df}") % d
    return s.format(x)


def precise(x, thousands=False):
    """x rounded to enough digits (a few more than needed, as models write them)."""
    d = decimals_needed(x) + R.randint(0, 3)
    return fmt(x, d, thousands and abs(x) >= 1000)


def unicode_minus(s):
    return s.replace("-", "\u2212", 1) if s.startswith("-") else s


def sci(x):
    m, e = ("%.3e" % x).split("e")
    return pick(["%se%d" % (m, int(e)), "%s \u00d7 10^%d" % (m, int(e)), "%s x 10^{%d}" % (m, int(e))])


def wrong_value(x):
    """A value a grader rejects: off by 3–40%, or a digit transposed."""
    kind = R.randrange(3)
    if kind == 0 or x == 0:
        delta = R.uniform(0.03, 0.4) * pick([-1, 1])
        return x * (1 + delta) if x != 0 else pick([0.5, -1.25, 3.0])
    if kind == 1:
        return x * pick([10, 0.1, 2, 0.5])
    s = precise(x)
    digits = [i for i, ch in enumerate(s) if ch.isdigit()]
    for _ in range(20):
        i = pick(digits[:3])
        j = i + 1
        if j < len(s) and s[j].isdigit() and s[i] != s[j]:
            t = s[:i] + s[j] + s[i] + s[j + 1:]
            v = float(t)
            if abs(v - x) > 0.02 * abs(x):
                return v
    return x * 1.25


# ---------------------------------------------------------------------------------------------
# Real-looking tables, columns and values

SUBJECTS = [
    # (description of the statistic, unit, key, magnitude)
    ("mean `body_mass_g`", "g", "mean_body_mass_g", 4200.0),
    ("median `bill_length_mm`", "mm", "median_bill_length", 44.0),
    ("average departure delay", "minutes", "mean_dep_delay", 12.6),
    ("mean `price`", "USD", "mean_price", 3932.8),
    ("standard deviation of `sepal_length`", "cm", "std_sepal_length", 0.83),
    ("average `tip`", "dollars", "mean_tip", 2.99),
    ("average `mpg`", "mpg", "mean_mpg", 20.09),
    ("median `fare`", "", "median_fare", 14.45),
    ("90th percentile of `carat`", "carats", "p90_carat", 1.51),
    ("mean `arr_delay` for carrier UA", "minutes", "mean_arr_delay", 3.56),
    ("gap between the two highest group means", "", "gap", 1156.3),
    ("mean ratio of `tip` to `total_bill`", "", "tip_ratio", 0.1608),
    ("median `lifeExp` in 2007", "years", "median_life_exp", 71.94),
    ("average `Total` invoice amount", "USD", "mean_total", 5.65),
    ("mean `air_time`", "minutes", "mean_air_time", 150.69),
    ("median `gdpPercap`", "USD", "median_gdp", 3531.85),
    ("mean `distance`", "miles", "mean_distance", 1039.91),
    ("mean `Milliseconds` per track", "ms", "mean_ms", 393599.2),
    ("total `population` of the selected countries", "people", "total_pop", 1.3e9),
    ("variance of `petal_width`", "", "var_petal_width", 0.58),
    ("mean `humidity`", "%", "mean_humid", 62.3),
    ("median `visib`", "miles", "median_visib", 10.0),
    ("mean `wind_speed`", "mph", "mean_wind", 10.52),
    ("average `hp`", "hp", "mean_hp", 146.69),
    ("mean absolute change in `close`", "", "mean_change", 0.0123),
    ("mean `pressure`", "hPa", "mean_pressure", 1017.9),
    ("median `age`", "years", "median_age", 28.0),
    ("mean `dep_delay` on weekends", "minutes", "mean_weekend_delay", 11.2),
    ("skewness of `price`", "", "skew_price", 1.6184),
    ("mean rate of change per year", "", "slope", 0.000183),
]

CORRELATIONS = [
    ("Pearson correlation between `flipper_length_mm` and `body_mass_g`", "corr_flipper_mass"),
    ("correlation between `carat` and `price`", "corr_carat_price"),
    ("Pearson correlation of `wt` and `mpg`", "corr_wt_mpg"),
    ("correlation between `dep_delay` and `arr_delay`", "corr_delays"),
    ("correlation between `total_bill` and `tip`", "corr_bill_tip"),
]

CATEGORIES = {
    "island": ["Biscoe", "Dream", "Torgersen"],
    "species": ["Adelie", "Chinstrap", "Gentoo"],
    "species_long": ["Adelie Penguin (Pygoscelis adeliae)", "Chinstrap penguin (Pygoscelis antarctica)",
                     "Gentoo penguin (Pygoscelis papua)"],
    "iris": ["setosa", "versicolor", "virginica"],
    "carrier": ["UA", "B6", "EV", "DL", "AA", "MQ", "US", "9E", "WN", "VX", "FL", "AS", "F9", "YV", "HA", "OO"],
    "origin": ["EWR", "JFK", "LGA"],
    "cut": ["Ideal", "Premium", "Fair"],
    "color": ["D", "E", "F", "G", "H", "I", "J"],
    "clarity": ["SI1", "VS2", "SI2", "VS1", "VVS2", "VVS1", "IF", "I1"],
    "day": ["Sun", "Sat", "Thur", "Fri"],
    "time": ["Dinner", "Lunch"],
    "class": ["First", "Second", "Third"],
    "embark_town": ["Southampton", "Cherbourg", "Queenstown"],
    "continent": ["Africa", "Americas", "Asia", "Europe", "Oceania"],
    "country": ["Norway", "Japan", "United States", "New Zealand", "South Africa", "Costa Rica", "Sri Lanka",
                "Iceland", "Switzerland", "Hong Kong, China"],
    "weekday": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "genre": ["Rock", "Latin", "Metal", "Alternative & Punk", "Jazz", "Blues", "TV Shows", "Classical",
              "R&B/Soul", "Reggae"],
    "artist": ["Iron Maiden", "Led Zeppelin", "Deep Purple", "Metallica", "U2", "Ozzy Osbourne", "Pearl Jam",
               "Various Artists", "Van Halen", "Lost"],
    "city": ["Los Angeles", "New York", "San Francisco", "Chicago", "Seattle", "Boston", "Austin", "Denver"],
    "origin_mpg": ["usa", "europe", "japan"],
    "sex": ["male", "female"],
    "trend": ["increased", "decreased"],
    "month_name": ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                   "October", "November", "December"],
    "manufacturer": ["toyota", "ford", "chevrolet", "dodge", "volkswagen", "honda", "subaru", "nissan"],
    "income": [">50K", "<=50K"],
}

COLUMN_OF = {k: k.replace("_long", "").replace("_mpg", "").replace("_name", "") for k in CATEGORIES}


def category(pool=None):
    pool = pool or pick(sorted(CATEGORIES))
    return pool, CATEGORIES[pool]


# ---------------------------------------------------------------------------------------------
# Numbers


def number_truth():
    kind = R.randrange(10)
    if kind < 6:
        desc, unit, key, mag = pick(SUBJECTS)
        x = mag * R.uniform(0.6, 1.5)
        if R.random() < 0.15:
            x = -x
        return x, desc, unit, key, {}
    if kind < 8:
        desc, key = pick(CORRELATIONS)
        x = R.uniform(-0.95, 0.95)
        return x, desc, "", key, pick([{}, {"abs-tolerance": 1e-6}])
    if kind == 8:
        # A share in percent (100 * count / total), checked to two decimals.
        pool, values = category()
        x = 100.0 * R.randint(1, 300) / R.randint(301, 900)
        return x, "percentage of rows where `%s` is %s" % (COLUMN_OF[pool], pick(values)), "%", "share_pct", {"decimals": 2}
    # A share as a fraction.
    pool, values = category()
    x = R.randint(1, 300) / R.randint(301, 900)
    return x, "share of rows where `%s` is %s" % (COLUMN_OF[pool], pick(values)), "", "share", {}


def with_unit(v, unit):
    if not unit:
        return v
    if unit == "%":
        return v + "%"
    if unit == "USD":
        return pick(["$" + v, v + " USD"])
    return v + " " + unit


def verbose_number(x, v, vu, desc, desc_cap, unit, count):
    """Longer answers in the styles models use, with supporting numbers around the answer."""
    n_all = count + R.randint(2, 400)
    missing = n_all - count
    other = with_unit(precise(x * R.uniform(0.5, 0.9)), unit)
    f = pick(["penguins.csv", "flights.csv", "diamonds.csv", "tips.csv", "titanic.csv", "gapminder.tsv"])
    return [
        ("verbose_copula_first", "Based on my analysis of `%s`, the %s is %s. This was computed from %s non-null values "
                                 "(%d rows had missing data)." % (f, desc, vu, fmt(count, 0, True), missing)),
        ("verbose_colon", "I loaded `%s` (%s rows, %d columns), dropped %d rows with missing values, and computed the %s: %s."
         % (f, fmt(n_all, 0, True), R.randint(4, 20), missing, desc, vu)),
        ("verbose_steps", "**Steps taken:**\n1. Loaded the data (%s rows).\n2. Removed %d rows with missing values.\n"
                          "3. Computed the %s.\n\n**Result:** %s" % (fmt(n_all, 0, True), missing, desc, vu)),
        ("verbose_comparison", "The %s is %s, which is well above the median of %s." % (desc, vu, other)),
        ("verbose_context_first", "After filtering, %s rows remain. Their %s is %s." % (fmt(count, 0, True), desc, vu)),
        ("verbose_label_then_count", "%s: %s\nRows used: %s" % (desc_cap, vu, fmt(count, 0, True))),
        ("verbose_reference", "The answer is %s. For reference, the median is %s and the sample has %s rows."
         % (vu, other, fmt(count, 0, True))),
        ("verbose_table_after", "The %s is %s.\n\n| group | value |\n|---|---|\n| A | %s |\n| B | %s |"
         % (desc, vu, precise(x * R.uniform(0.6, 0.9)), precise(x * R.uniform(1.1, 1.4)))),
        ("verbose_n_equals", "With n = %d observations, the %s is %s." % (count, desc, vu)),
    ]


def number_cases(n):
    for _ in range(n):
        x, desc, unit, key, checker = number_truth()
        v = precise(x)
        vu = with_unit(v, unit)
        vt = with_unit(precise(x, thousands=True), unit)
        desc_cap = desc[0].upper() + desc[1:]
        count = R.randint(120, 90000)
        year = R.randint(1990, 2022)
        positives = [
            ("plain", repr(x)),
            ("rounded", v),
            ("sentence", "The %s is %s." % (desc, vu)),
            ("approximately", "The %s is approximately %s." % (desc, vt)),
            ("bold", "The %s is **%s**." % (desc, vu)),
            ("bold_label", "**%s:** %s" % (desc_cap, vt)),
            ("thousands", "The %s comes to %s." % (desc, vt)),
            ("context_count", "Based on %s rows with a recorded value, the %s is %s." % (fmt(count, 0, True), desc, vu)),
            ("context_paren", "The %s is %s (computed over %d non-missing rows)." % (desc, vu, count)),
            ("answer_line", "I loaded the table, dropped rows with missing values and computed the %s.\n\nAnswer: %s" % (desc, vu)),
            ("final_answer_bold", "### Result\n\nAfter filtering %d rows:\n\n**Final answer:** %s" % (count, vu)),
            ("json", json.dumps({key: round(x, decimals_needed(x) + 3)})),
            ("json_fence", "```json\n%s\n```" % json.dumps({"answer": round(x, decimals_needed(x) + 2), "unit": unit or None})),
            ("python_dict", "{'%s': %s}" % (key, v)),
            ("marker", "@%s[%s]" % (key, v)),
            ("boxed", "The %s is $\\boxed{%s}$." % (desc, v)),
            ("summary_table", "| Statistic | Value |\n|---|---|\n| %s | %s |" % (desc_cap, vt)),
            ("printed_output", "The cell printed:\n\n```\n%s\n```\n\nSo that is the %s." % (fmt(x, max(6, decimals_needed(x) + 1)), desc)),
            ("value_line", "%s\n\nThis is the %s over %d rows, computed with pandas." % (vu, desc, count)),
            ("year_before", "In %d, the %s was %s." % (year, desc, vu)),
            ("year_after", "The %s was %s in %d." % (desc, vu, year)),
            ("list_summary", "Summary:\n- Rows used: %d\n- %s: %s" % (count, desc_cap, vu)),
        ]
        positives.extend(verbose_number(x, v, vu, desc, desc_cap, unit, count))
        if x < 0:
            positives.append(("unicode_minus", "The %s is %s." % (desc, unicode_minus(v))))
        if 0 < abs(x) < 0.001 or abs(x) >= 1e6:
            positives.append(("scientific", "The %s is %s." % (desc, sci(x))))
        if abs(x) >= 1e6:
            d = decimals_needed(x / 1e6) + 1
            positives.append(("scale_word", "The %s is about %s million." % (desc, fmt(x / 1e6, d))))
        if 0 < x < 1 and "share" in key:
            d = max(1, decimals_needed(100 * x))
            pct = fmt(100 * x, d)
            positives.append(("percent", "About %s%% of the rows match." % pct))
            positives.append(("percent_word", "That is %s percent of the rows." % pct))
        for variation, text in R.sample(positives, min(len(positives), 9)):
            add("number", x, text, "pass", variation, checker)
        w = wrong_value(x)
        negatives = [
            ("off_verbose", "Based on my analysis, the %s is %s. This was computed from %s non-null values."
             % (desc, with_unit(precise(w), unit), fmt(count, 0, True))),
            ("off_table_after", "The %s is %s.\n\n| group | value |\n|---|---|\n| A | %s |\n| B | %s |"
             % (desc, with_unit(precise(w), unit), v, precise(x * R.uniform(1.1, 1.4)))),
            ("off", "The %s is %s." % (desc, with_unit(precise(w), unit))),
            ("off_bold", "The %s is **%s**." % (desc, with_unit(precise(w, True), unit))),
            ("off_json", json.dumps({key: round(w, decimals_needed(w) + 2)})),
            ("off_context", "Based on %d rows, the %s is %s (see the output above)." % (count, desc, with_unit(precise(w), unit))),
            ("no_number", pick(["I could not compute it because the column has no numeric values.",
                                "The value cannot be determined from this table.",
                                "The computation failed, so there is no result."])),
        ]
        if abs(x) > 1e-9:
            negatives.append(("wrong_sign", "The %s is %s." % (desc, precise(-x))))
        if 0 < x < 1 and "share" in key:
            negatives.append(("percent_off", "About %s%% of the rows match." % fmt(100 * x * R.uniform(1.2, 1.6), 1)))
        expected = {"no_number": "unextractable"}
        for variation, text in R.sample(negatives, min(len(negatives), 4)):
            add("number", x, text, expected.get(variation, "wrong"), variation, checker)


def integer_cases(n):
    for _ in range(n):
        kind = R.randrange(4)
        if kind == 0:
            x = R.randint(1, 20)
            what = pick(["distinct values of `%s`" % pick(["species", "island", "origin", "cut", "day"]),
                         "columns with missing values", "duplicate rows"])
        elif kind == 1:
            x = R.choice([R.randint(1990, 2020), R.randint(1, 12)])
            what = "year with the highest mean `price`" if x > 12 else "busiest month (1-12)"
        else:
            x = R.randint(21, 400000)
            what = pick(["rows where `origin` is JFK", "flights in %d" % R.randint(2010, 2016), "rows above the threshold",
                         "missing values in `bill_depth_mm`", "outliers by the IQR rule", "tracks in the Rock genre"])
        xs = fmt(x, 0, True)
        year = R.randint(2005, 2019)
        if kind == 1 and x > 12:
            positives = [
                ("plain", str(x)),
                ("sentence", "The year with the highest mean `price` is %d." % x),
                ("bold", "**%d**" % x),
                ("year_answer", "The highest mean occurs in %d." % x),
                ("year_bold", "**%d** has the highest average (%s)." % (x, precise(R.uniform(1000, 5000)))),
                ("json", json.dumps({"year": x})),
                ("answer_line", "I grouped by year and sorted the means.\n\nAnswer: %d" % x),
                ("with_mean", "In %d the mean `price` peaked at %s." % (x, precise(R.uniform(1000, 5000)))),
            ]
            for variation, text in R.sample(positives, 6):
                add("integer", x, text, "pass", variation)
            other = x + pick([-3, -2, -1, 1, 2, 4])
            negatives = [
                ("other_year", "The year with the highest mean `price` is %d." % other),
                ("other_year_bold", "**%d** has the highest average." % other),
                ("no_number", "The year could not be determined because the date column failed to parse."),
            ]
            for variation, text in negatives:
                add("integer", x, text, "unextractable" if variation == "no_number" else "wrong", variation)
            continue
        positives = [
            ("plain", str(x)),
            ("thousands", "There are %s %s." % (xs, what)),
            ("bold", "The number of %s is **%s**." % (what, xs)),
            ("float_print", "%d.0" % x),
            ("json", json.dumps({"count": x})),
            ("marker", "@count[%d]" % x),
            ("answer_line", "Counting with `len(df[mask])`:\n\nAnswer: %s" % xs),
            ("context_year", "In %d there were %s %s." % (year, xs, what)),
            ("year_after", "There were %s %s in %d." % (xs, what, year)),
            ("value_line", "%s\n\nI filtered the rows with a boolean mask and counted them." % xs),
            ("paren_detail", "There are %s %s (out of %s rows in total)." % (xs, what, fmt(x + R.randint(50, 5000), 0, True))),
            ("verbose_share", "There are %s %s, which is %s%% of all rows." % (xs, what, fmt(R.uniform(1, 60), 1))),
            ("verbose_out_of", "Out of %s rows, %s are %s." % (fmt(x + R.randint(50, 5000), 0, True), xs, what)),
            ("verbose_steps", "I filtered the table with a boolean mask and counted the matches.\n\n**Result:** %s %s" % (xs, what)),
        ]
        if x <= 12 and kind != 1:
            words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
            positives.append(("number_word", "There are %s %s." % (words[x], what)))
        for variation, text in R.sample(positives, min(len(positives), 8)):
            add("integer", x, text, "pass", variation)
        off = x + pick([-3, -2, -1, 1, 2, 5, 10]) if x > 12 else (x + 1 if x < 12 else x - 1)
        negatives = [
            ("off_by_some", "There are %s %s." % (fmt(off, 0, True), what)),
            ("not_whole", "The count is %s." % fmt(x + pick([0.5, 0.25, 0.4]), 2)),
            ("off_bold", "**%s** %s" % (fmt(off, 0, True), what)),
            ("no_number", pick(["I could not count them because the column was not found.",
                                "The count is unavailable: the filter column does not exist."])),
        ]
        if x > 100:
            negatives.append(("rounded_count", "There are about %s %s." % (fmt(round(x, -2) + (100 if round(x, -2) == x else 0), 0, True), what)))
        expected = {"no_number": "unextractable"}
        for variation, text in R.sample(negatives, 3):
            add("integer", x, text, expected.get(variation, "wrong"), variation)


# ---------------------------------------------------------------------------------------------
# Strings


def string_cases(n):
    for _ in range(n):
        pool, values = category()
        truth = pick(values)
        others = [v for v in values if v != truth]
        other = pick(others)
        col = COLUMN_OF[pool]
        q = pick(["has the highest average `price`", "is the most common", "has the largest mean `body_mass_g`",
                  "has the most rows", "has the highest median delay", "varies the most"])
        count = R.randint(10, 5000)
        positives = [
            ("plain", truth),
            ("bold", "**%s**" % truth),
            ("sentence", "The `%s` that %s is %s." % (col, q, truth)),
            ("sentence_bold", "The `%s` that %s is **%s**, with %s rows." % (col, q, truth, fmt(count, 0, True))),
            ("lowercase", truth.lower()),
            ("uppercase", truth.upper()),
            ("quoted", 'The answer is "%s".' % truth),
            ("code", "`%s`" % truth),
            ("answer_line", "I grouped by `%s` and sorted the means.\n\nAnswer: %s" % (col, truth)),
            ("json", json.dumps({"answer": truth})),
            ("marker", "@%s[%s]" % (col, truth)),
            ("runner_up_after", "%s %s (%s), ahead of %s (%s)." % (truth, q, precise(R.uniform(10, 5000)), other, precise(R.uniform(10, 5000)))),
            ("comparison", "%s %s; %s comes second." % (truth, q, other)),
            ("with_count", "%s (%d rows)" % (truth, count)),
            ("heading", "## Result\n\nThe `%s` value that %s is %s." % (col, q, truth)),
            ("verbose_table_after", "The `%s` that %s is %s.\n\n| %s | value |\n|---|---|\n%s"
             % (col, q, truth, col, "\n".join("| %s | %s |" % (g, precise(R.uniform(10, 900))) for g in [truth] + others[:3]))),
            ("verbose_findings", "Based on my analysis, **%s** %s. The next closest is %s, well behind." % (truth, q, other)),
        ]
        for variation, text in R.sample(positives, 8):
            add("string", truth, text, "pass", variation)
        negatives = [
            ("other", "The `%s` that %s is %s." % (col, q, other)),
            ("other_bold", "**%s**" % other),
            ("runner_up_first", "%s %s, followed by %s." % (other, q, truth)),
            ("truth_second", "%s %s; %s comes second." % (other, q, truth)),
            ("other_json", json.dumps({"answer": other})),
            ("other_table_after", "The `%s` that %s is %s.\n\n| %s | value |\n|---|---|\n%s"
             % (col, q, other, col, "\n".join("| %s | %s |" % (g, precise(R.uniform(10, 900))) for g in [truth] + others[:3]))),
            ("empty", pick(["", "  ", "**Answer:**"])),
        ]
        if len(truth) > 3 and " " not in truth:
            negatives.append(("prefix", "The answer is %s." % truth[:3]))
        expected = {"empty": "unextractable"}
        for variation, text in R.sample(negatives, 4):
            add("string", truth, text, expected.get(variation, "wrong"), variation)


# ---------------------------------------------------------------------------------------------
# Sets and lists


def collection_truth(ordered):
    if R.random() < 0.25:
        # Numbers: the k largest values of a column (duplicates possible).
        base = R.uniform(50, 5000)
        vals = sorted({round(base * R.uniform(0.9, 1.0), R.choice([0, 1, 2])) for _ in range(6)}, reverse=True)
        k = R.randint(2, min(4, len(vals)))
        vals = vals[:k]
        if R.random() < 0.2:
            vals[1] = vals[0]
        return [int(v) if float(v).is_integer() else v for v in vals], "values", "largest `%s`" % pick(["body_mass_g", "price", "air_time", "fare"])
    pool, values = category(pick([k for k in sorted(CATEGORIES) if len(CATEGORIES[k]) >= 3]))
    k = R.randint(2, min(4, len(values) - 1))
    chosen = R.sample(values, k)
    if not ordered:
        chosen.sort()
    return chosen, pool, "`%s` values" % COLUMN_OF[pool]


def show(v):
    return v if isinstance(v, str) else (str(v) if isinstance(v, int) else precise(v))


def joined(items):
    items = [show(v) for v in items]
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + pick([" and ", ", and ", ", "]) + items[-1]


def collection_cases(answer_type, n):
    ordered = answer_type == "list"
    for _ in range(n):
        truth, pool, what = collection_truth(ordered)
        values = CATEGORIES.get(pool, [])
        numeric = not isinstance(truth[0], str)
        counts = sorted((R.randint(5, 900) for _ in truth), reverse=True)
        order = list(truth) if ordered else R.sample(truth, len(truth))
        k = len(truth)
        lead = pick(["The %d most common %s are" % (k, what), "The %s, from most to least frequent, are" % what,
                     "Top %d %s:" % (k, what), "These are the %s:" % what]) if ordered else pick(
            ["The groups above the overall mean are", "The %s that qualify are" % what, "Matching %s:" % what])
        positives = [
            ("comma", ", ".join(show(v) for v in order)),
            ("sentence", "%s %s." % (lead, joined(order))),
            ("bullets", "%s\n\n%s" % (lead, "\n".join("- %s" % show(v) for v in order))),
            ("numbered_counts", "\n".join("%d. **%s** (%d rows)" % (i + 1, show(v), c) for i, (v, c) in enumerate(zip(order, counts)))),
            ("bold_items", "%s %s." % (lead, joined(["**%s**" % show(v) for v in order]))),
            ("json", json.dumps(order)),
            ("python_list", "[%s]" % ", ".join(repr(v) for v in order)),
            ("json_key", "```json\n%s\n```" % json.dumps({"answer": order})),
            ("table", "| Rank | %s | Count |\n|---:|---|---:|\n%s" % (pool.title(), "\n".join("| %d | %s | %d |" % (i + 1, show(v), c) for i, (v, c) in enumerate(zip(order, counts))))),
            ("marker", "@%s[%s]" % (pool, ", ".join(show(v) for v in order))),
            ("answer_line", "I counted the values with `value_counts()`.\n\nAnswer: %s" % ", ".join(show(v) for v in order)),
            ("lowercase", ", ".join(show(v).lower() for v in order)),
            ("with_counts_inline", "%s." % joined(["%s (%d)" % (show(v), c) for v, c in zip(order, counts)])),
        ]
        if not ordered:
            positives.append(("other_order", ", ".join(show(v) for v in R.sample(truth, k))))
        for variation, text in R.sample(positives, 8):
            add(answer_type, truth, text, "pass", variation)
        if ordered and k >= 2 and not numeric:
            # A tie in the truth: the two tied values may come in either order.
            i = R.randrange(k - 1)
            tied = list(truth[:i]) + [[truth[i], truth[i + 1]]] + list(truth[i + 2:])
            swapped = list(truth)
            swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
            add(answer_type, tied, ", ".join(show(v) for v in swapped), "pass", "tie_either_order")
        # Negatives.
        replacement = None
        if numeric:
            replacement = truth[0] * R.uniform(1.05, 1.3) if isinstance(truth[0], float) else truth[0] + R.randint(7, 40)
        else:
            spare = [v for v in values if v not in truth]
            replacement = pick(spare) if spare else None
        negatives = []
        if replacement is not None:
            j = R.randrange(k)
            changed = list(order)
            changed[j] = replacement
            negatives.append(("one_different", "%s %s." % (lead, joined(changed))))
            negatives.append(("one_extra", ", ".join(show(v) for v in order + [replacement])))
            negatives.append(("one_extra_bullets", "\n".join("- %s" % show(v) for v in order + [replacement])))
        if k >= 2:
            negatives.append(("one_missing", "%s %s." % (lead, joined(order[:-1]))))
        if ordered and k >= 2:
            i = R.randrange(k - 1)
            if truth[i] != truth[i + 1]:
                swapped = list(truth)
                swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
                negatives.append(("swapped_pair", ", ".join(show(v) for v in swapped)))
                negatives.append(("swapped_numbered", "\n".join("%d. %s" % (n + 1, show(v)) for n, v in enumerate(swapped))))
        if k >= 2 and truth[0] != truth[1]:
            dup = list(order)
            dup[-1] = dup[0]
            negatives.append(("duplicate", json.dumps(dup)))
        negatives.append(("nothing", pick(["I could not determine the groups.", "", "No values qualify."])))
        expected = {"nothing": "unextractable"}
        for variation, text in R.sample(negatives, min(4, len(negatives))):
            add(answer_type, truth, text, expected.get(variation, "wrong"), variation)


# ---------------------------------------------------------------------------------------------
# Tables and charts


def table_truth():
    kind = R.randrange(5)
    pool, values = category()
    col = COLUMN_OF[pool]
    groups = R.sample(values, R.randint(2, min(6, len(values))))
    if kind == 0:
        mag = R.uniform(1, 5000)
        rows = [[g, mag * R.uniform(0.5, 1.5)] for g in groups]
        return {"columns": [col, "mean"], "rows": rows}, "mean"
    if kind == 1:
        rows = [[g, R.randint(1, 3000)] for g in groups]
        return {"columns": [col, "n"], "rows": rows}, "count"
    if kind == 2:
        start = R.randint(2005, 2020)
        months = ["%d-%02d" % (start + (m // 12), m % 12 + 1) for m in range(R.randint(2, 7))]
        return {"columns": ["month", "n"], "rows": [[m, R.randint(100, 30000)] for m in months]}, "monthly"
    if kind == 3:
        rows = [[g, R.randint(1, 500), R.uniform(0, 100)] for g in groups]
        return {"columns": [col, "n", "share"], "rows": rows}, "three"
    rows = [[i, R.randint(1, 80)] for i in range(R.randint(3, 10))]
    return {"columns": ["bin", "n"], "rows": rows}, "bins"


def cell(v, d_extra=2, thousands=False):
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return fmt(v, 0, thousands)
    return fmt(v, max(2, decimals_needed(v)) + R.randint(0, d_extra), thousands and abs(v) >= 1000)


def md_table(header, rows, index=False):
    h = (["#"] if index else []) + header
    out = ["| " + " | ".join(h) + " |", "|" + "|".join("---" for _ in h) + "|"]
    for i, r in enumerate(rows):
        out.append("| " + " | ".join(([str(i)] if index else []) + r) + " |")
    return "\n".join(out)


def printed_frame(header, rows):
    widths = [max(len(h), *(len(r[j]) for r in rows)) for j, h in enumerate(header)]
    iw = len(str(len(rows) - 1))
    lines = [" " * iw + "".join("  " + h.rjust(w) for h, w in zip(header, widths))]
    for i, r in enumerate(rows):
        lines.append(str(i).ljust(iw) + "".join("  " + c.rjust(w) for c, w in zip(r, widths)))
    return "\n".join(lines)


def table_answers(truth, kind):
    cols = truth["columns"]
    rows = truth["rows"]
    shuffled = R.sample(rows, len(rows))
    as_text = [[cell(v) for v in r] for r in shuffled]
    names = {"mean": ["average", "mean_value", "Mean"], "n": ["count", "rows", "N"], "share": ["share_pct", "pct"]}
    renamed = [pick(names.get(c, [c.title()])) for c in cols]
    out = [
        ("markdown", md_table(cols, [[cell(v) for v in r] for r in rows])),
        ("markdown_shuffled", "Here is the table:\n\n" + md_table(cols, as_text)),
        ("markdown_index", md_table(cols, as_text, index=True)),
        ("renamed_columns", md_table(renamed, as_text)),
        ("thousands", md_table(cols, [[cell(v, 1, True) for v in r] for r in shuffled])),
        ("records_json", "```json\n%s\n```" % json.dumps([dict(zip(cols, r)) for r in shuffled])),
        ("columns_json", json.dumps({c: [r[j] for r in rows] for j, c in enumerate(cols)})),
        ("split_json", json.dumps({"columns": cols, "rows": shuffled})),
        ("csv", "```csv\n%s\n```" % "\n".join([",".join(cols)] + [",".join(csv_field(cell(v)) for v in r) for r in shuffled])),
        ("printed_frame", "The result:\n\n```\n%s\n```" % printed_frame(cols, as_text)),
        ("bold_cells", md_table(cols, [["**%s**" % c if j == 0 else c for j, c in enumerate(r)] for r in as_text])),
    ]
    if len(cols) == 2:
        out.append(("key_value", "\n".join("- **%s**: %s" % (cell(r[0]), cell(r[1])) for r in shuffled)))
        out.append(("swapped_columns", md_table([cols[1], cols[0]], [[r[1], r[0]] for r in as_text])))
        out.append(("dict_json", json.dumps({str(r[0]): r[1] for r in shuffled})))
    return out


def perturb_rows(rows):
    """The truth with one numeric cell changed beyond any rounding."""
    rows = [list(r) for r in rows]
    i = R.randrange(len(rows))
    js = [j for j, v in enumerate(rows[i]) if not isinstance(v, str) and j > 0]
    j = pick(js) if js else len(rows[i]) - 1
    v = rows[i][j]
    if isinstance(v, int):
        rows[i][j] = v + max(2, int(abs(v) * R.uniform(0.05, 0.3)))
    else:
        rows[i][j] = v * pick([1.08, 1.2, 0.85, 0.7]) if v != 0 else 1.0
    return rows


def table_negatives(truth):
    cols = truth["columns"]
    rows = truth["rows"]
    txt = lambda rs: md_table(cols, [[cell(v) for v in r] for r in rs])
    out = [
        ("one_cell_wrong", txt(perturb_rows(rows))),
        ("row_missing", txt(rows[:-1]) if len(rows) > 1 else txt(perturb_rows(rows))),
        ("extra_row", txt(rows + [["Total"] + [sum(r[j] for r in rows) if not isinstance(rows[0][j], str) else "all" for j in range(1, len(cols))]])),
        ("no_table", pick(["I grouped the data and computed the values; the table is shown above.",
                           "The table could not be produced because the column is missing."])),
    ]
    if len(rows) >= 2 and not isinstance(rows[0][1], str) and rows[0][1] != rows[1][1]:
        sw = [list(r) for r in rows]
        sw[0][1], sw[1][1] = sw[1][1], sw[0][1]
        out.append(("values_swapped", txt(sw)))
    if isinstance(rows[0][0], str):
        lab = [list(r) for r in rows]
        lab[0][0] = lab[0][0] + " Group" if R.random() < 0.5 else "Unknown"
        out.append(("wrong_label", txt(lab)))
    return out


def table_cases(n):
    for _ in range(n):
        truth, kind = table_truth()
        for variation, text in R.sample(table_answers(truth, kind), 7):
            add("table", truth, text, "pass", variation)
        expected = {"no_table": "unextractable"}
        for variation, text in R.sample(table_negatives(truth), 4):
            add("table", truth, text, expected.get(variation, "wrong"), variation)
        if len(truth["rows"]) >= 2:
            rows = truth["rows"]
            rev = list(reversed(rows))
            add("table", truth, md_table(truth["columns"], [[cell(v) for v in r] for r in rev]), "wrong", "ordered_rows_reversed",
                {"ordered-rows": True})
            add("table", truth, md_table(truth["columns"], [[cell(v) for v in r] for r in rows]), "pass", "ordered_rows_in_order",
                {"ordered-rows": True})


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"


def write_output(case_dir, name, data):
    path = os.path.join(OUT, "outputs", case_dir, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def csv_field(text):
    return '"%s"' % text.replace('"', '""') if ("," in text or '"' in text) else text


def file_cases(n):
    charts = [("counts.png", "bar chart of counts per `%s`"), ("histogram.png", "10-bin histogram"),
              ("yearly.png", "line chart of the yearly mean"), ("boxplot.png", "box plot per group")]
    on_disk = 0
    for _ in range(n):
        truth, kind = table_truth()
        name, what = pick(charts)
        checker = {"file": name}
        files = [name]
        intro = "I drew the %s and saved it as `outputs/%s`." % (what.replace("`%s`", "group"), name)
        for variation, text in R.sample(table_answers(truth, kind), 5):
            add("file", truth, intro + " The data it shows:\n\n" + text, "pass", "chart+" + variation, checker, files)
        cols = truth["columns"]
        add("file", truth, intro + "\n\n" + md_table(cols, [[cell(v) for v in r] for r in truth["rows"]]), "pass",
            "chart_among_files", checker, ["summary.csv", name, "notes.txt"])
        add("file", truth, intro + "\n\n" + md_table(cols, [[cell(v) for v in r] for r in truth["rows"]]), "wrong",
            "chart_not_written", checker, ["chart.png"])
        add("file", truth, intro + "\n\n" + md_table(cols, [[cell(v) for v in r] for r in perturb_rows(truth["rows"])]),
            "wrong", "chart_data_wrong", checker, files)
        add("file", truth, intro, "unextractable", "chart_without_data", checker, files)
        if on_disk < 40:
            on_disk += 1
            case_dir = "file-%02d" % on_disk
            stem = name.rsplit(".", 1)[0]
            csv_text = "\n".join([",".join(cols)] + [",".join(csv_field(cell(v)) for v in r) for r in truth["rows"]]) + "\n"
            if on_disk % 4 == 0:
                write_output(case_dir, name, b"GIF89a not a png")
                add("file", truth, intro, "wrong", "chart_not_an_image", checker, [name, stem + ".csv"], "outputs/" + case_dir)
                write_output(case_dir, stem + ".csv", csv_text.encode())
            else:
                write_output(case_dir, name, PNG)
                write_output(case_dir, stem + ".csv", csv_text.encode())
                add("file", truth, intro + " Its data is in `outputs/%s.csv`." % stem, "pass", "chart+sidecar_csv", checker,
                    [name, stem + ".csv"], "outputs/" + case_dir)
    # One-row chart data (a scatter plot's point count and means) stated in prose.
    for _ in range(n // 3):
        pts = R.randint(30, 5000)
        mx, my = R.uniform(10, 300), R.uniform(100, 6000)
        truth = {"columns": ["points", "mean_x", "mean_y"], "rows": [[pts, mx, my]]}
        checker = {"file": "scatter.png"}
        add("file", truth, "The scatter plot is saved as `outputs/scatter.png`. It shows %s points; the mean of x is %s and the mean of y is %s." % (fmt(pts, 0, True), precise(mx), precise(my)), "pass", "scatter_prose", checker, ["scatter.png"])
        add("file", truth, "Saved `outputs/scatter.png` with %d points (mean x = %s, mean y = %s)." % (pts, precise(mx * 1.15), precise(my)), "wrong", "scatter_prose_wrong", checker, ["scatter.png"])


# ---------------------------------------------------------------------------------------------
# Reports


def report_truth():
    kind = R.randrange(3)
    if kind == 0:
        pool, values = category()
        return {"rows": R.randint(50, 400000), "columns": R.randint(3, 30), "mean": R.uniform(1, 5000),
                "min": R.uniform(0, 1), "max": R.uniform(5000, 9000), "mode": pick(values),
                "mode_count": R.randint(10, 900)}, "overview"
    if kind == 1:
        pool, values = category()
        a, b = R.sample(values, 2)
        ma, mb = R.uniform(10, 5000), R.uniform(10, 5000)
        return {"group_a": a, "mean_a": ma, "group_b": b, "mean_b": mb, "difference": ma - mb}, "comparison"
    col = pick(["bill_depth_mm", "sex", "dep_delay", "age", "deck"])
    total = R.randint(100, 100000)
    miss = R.randint(1, total // 3)
    return {"column": col, "missing": miss, "share_missing": miss / total, "rows": total}, "missing"


def report_text(t, kind, wrong=None, drop=None):
    t = dict(t)
    if wrong:
        v = t[wrong]
        t[wrong] = v * pick([1.15, 0.8, 1.4]) + (3 if isinstance(v, int) else 0)
    s = lambda k, thousands=True: "" if k == drop else (cell(t[k], 2, thousands) if not isinstance(t[k], str) else t[k])
    if kind == "overview":
        parts = [
            "## Overview\n",
            "The table has %s rows and %s columns." % (s("rows"), s("columns")) if drop not in ("rows", "columns") else "The table is of moderate size.",
            "\n- Mean: %s" % s("mean") if drop != "mean" else "",
            "\n- Range: %s to %s" % (s("min"), s("max")) if drop not in ("min", "max") else "",
            "\n- The most common value is **%s** (%s rows)." % (s("mode"), s("mode_count")) if drop not in ("mode", "mode_count") else "",
        ]
        return "".join(parts)
    if kind == "comparison":
        return ("# Comparing %s and %s\n\nThe mean for %s is %s, against %s for %s, a difference of %s.\n\n"
                "%s is clearly higher." % (s("group_a"), s("group_b"), s("group_a"), s("mean_a"), s("mean_b"), s("group_b"),
                                          s("difference"), s("group_a") if t["difference"] > 0 else s("group_b")))
    pct = "" if drop == "share_missing" else fmt(100 * t["share_missing"], max(1, decimals_needed(100 * t["share_missing"])))
    return ("**Missing data audit**\n\nOut of %s rows, `%s` has %s missing values (%s%%). No other column has gaps."
            % (s("rows"), t["column"], s("missing"), pct))


def report_cases(n):
    for _ in range(n):
        truth, kind = report_truth()
        for _ in range(3):
            add("report", truth, report_text(truth, kind), "pass", "report_" + kind)
        numeric = [k for k, v in truth.items() if not isinstance(v, str) and k not in ("columns",)]
        add("report", truth, report_text(truth, kind, wrong=pick(numeric)), "wrong", "report_fact_wrong")
        if kind != "comparison":
            add("report", truth, report_text(truth, kind, drop=pick(numeric)), "wrong", "report_fact_missing")
        add("report", truth, pick(["The data looks clean and well structured; nothing stands out.", ""]), "unextractable",
            "report_without_numbers")


# ---------------------------------------------------------------------------------------------
# Metrics

METRICS = [("accuracy", True), ("mae", False), ("r2", True), ("rmse", False), ("f1", True)]


def metric_cases(n):
    for _ in range(n):
        name, higher = pick(METRICS)
        checker = {"metric": name, "higher-is-better": higher}
        label = {"accuracy": "accuracy", "mae": "MAE", "r2": "R\u00b2", "rmse": "RMSE", "f1": "F1 score"}[name]
        if name in ("accuracy", "f1"):
            base = R.uniform(0.3, 0.8)
            good = R.uniform(base + 0.01, min(0.99, base + 0.3))
            bad = R.uniform(max(0.05, base - 0.25), base - 0.01)
        elif name == "r2":
            base = 0.0
            good = R.uniform(0.05, 0.95)
            bad = R.uniform(-0.5, -0.01)
        else:
            base = R.uniform(1, 5000)
            good = base * R.uniform(0.4, 0.97)
            bad = base * R.uniform(1.03, 1.6)
        truth = {"baseline": base}
        g, b, bs = precise(good), precise(bad), precise(base)
        positives = [
            ("plain", g),
            ("sentence", "The model reaches a test %s of %s." % (label, g)),
            ("bold", "Test %s: **%s**" % (label, g)),
            ("with_baseline_after", "The model's test %s is %s, compared with %s for the mean baseline." % (label, g, bs)),
            ("with_baseline_paren", "Test %s = %s (baseline: %s)." % (label, g, bs)),
            ("baseline_first", "The baseline %s is %s; the linear model reaches %s." % (label, bs, g)),
            ("json", json.dumps({name: round(good, 4), "baseline_" + name: round(base, 4)})),
            ("answer_line", "I trained on the rows whose position is not a multiple of 5 and evaluated on the rest.\n\nAnswer: %s" % g),
            ("verbose_split", "I trained a model on %d rows and evaluated it on the %d held-out rows. The test %s is %s, against %s for the baseline."
             % (R.randint(100, 5000), R.randint(20, 1000), label, g, bs)),
            ("verbose_baseline_line", "Baseline %s: %s\nModel %s: %s" % (label, bs, label, g)),
        ]
        if name in ("accuracy", "f1"):
            pct = fmt(100 * good, 1)
            positives.append(("percent", "The classifier reaches %s%% %s on the held-out rows." % (pct, label)))
            positives.append(("percent_no_sign", "Held-out %s: %s" % (label, pct)))
        for variation, text in R.sample(positives, 6):
            add("metric", truth, text, "pass", variation, checker)
        negatives = [
            ("worse_than_baseline", "The model reaches a test %s of %s." % (label, b)),
            ("worse_bold", "Test %s: **%s** (baseline %s)" % (label, b, bs)),
            ("only_baseline", "The baseline %s is %s." % (label, bs)),
            ("no_score", "The model was trained successfully on the training rows."),
        ]
        if name in ("accuracy", "f1"):
            negatives.append(("impossible", "The %s is %s." % (label, fmt(R.uniform(1.5, 9.0) * 100, 1))))
        if name in ("mae", "rmse"):
            negatives.append(("impossible", "The %s is %s." % (label, precise(-good))))
        expected = {"only_baseline": "unextractable", "no_score": "unextractable"}
        for variation, text in R.sample(negatives, 3):
            add("metric", truth, text, expected.get(variation, "wrong"), variation, checker)


# ---------------------------------------------------------------------------------------------
# A second batch in phrasings written after the checker was first tuned on the cases above
# (variation names start with `h_`); BENCHMARKS.md reports how the checker did on them first.


def heldout_cases(n):
    for _ in range(n):
        # Numbers.
        x, desc, unit, key, checker = number_truth()
        v, vu = precise(x), with_unit(precise(x, True), unit)
        w = with_unit(precise(wrong_value(x), True), unit)
        other = precise(x * R.uniform(1.2, 1.6))
        for variation, text, expected in [
            ("h_heading_bold", "### Answer\nThe %s is approximately **%s** (about %s overall)." % (desc, vu, other), "pass"),
            ("h_equals", "%s = %s" % (key, v), "pass"),
            ("h_inline_code", "The computed value: `%s`" % fmt(x, max(6, decimals_needed(x) + 1)), "pass"),
            ("h_rounded_note", "%s (rounded)" % vu, "pass"),
            ("h_then_other", "I found that the %s is %s, compared with %s for the whole table." % (desc, vu, other), "pass"),
            ("h_two_stats", "After computing, we get %s = %s and std = %s." % (key, v, precise(abs(x) * R.uniform(0.1, 0.3))), "pass"),
            ("h_year_for", "The value for %d is %s." % (R.randint(2000, 2020), vu), "pass"),
            ("h_wrong_heading", "### Answer\nThe %s is approximately **%s**." % (desc, w), "wrong"),
            ("h_nan", "The %s could not be computed: the column contains only NaN values." % desc.split("`")[0].strip(), "unextractable"),
        ]:
            add("number", x, text, expected, variation, checker)
        # Integers.
        k = R.randint(21, 5000)
        total = k + R.randint(100, 9000)
        for variation, text, expected in [
            ("h_total_of", "A total of %s rows match the condition." % fmt(k, 0, True), "pass"),
            ("h_share_paren", "%d rows (%s%% of the data) match." % (k, fmt(100.0 * k / total, 1)), "pass"),
            ("h_has", "The filtered DataFrame has %s rows." % fmt(k, 0, True), "pass"),
            ("h_label", "Count of matching rows: %d" % k, "pass"),
            ("h_wrong_total", "A total of %s rows match the condition." % fmt(k + R.randint(3, 40), 0, True), "wrong"),
        ]:
            add("integer", k, text, expected, variation)
        # Strings.
        pool, values = category()
        truth = pick(values)
        other_v = pick([v for v in values if v != truth])
        col = COLUMN_OF[pool]
        for variation, text, expected in [
            ("h_paren_value", "Based on the grouped means, the `%s` with the highest average is %s (%s)." % (col, truth, precise(R.uniform(10, 5000))), "pass"),
            ("h_bold_answer_label", "**Answer: %s**" % truth, "pass"),
            ("h_its", "It's %s." % truth, "pass"),
            ("h_other_first", "%s has the highest average; %s is close behind." % (other_v, truth), "wrong"),
            ("h_other_paren", "Based on the grouped means, the `%s` with the highest average is %s (%s)." % (col, other_v, precise(R.uniform(10, 5000))), "wrong"),
        ]:
            add("string", truth, text, expected, variation)
        # Sets and lists.
        for answer_type in ("set", "list"):
            truth_c, pool_c, what = collection_truth(answer_type == "list")
            if not isinstance(truth_c[0], str):
                continue
            order = list(truth_c) if answer_type == "list" else R.sample(truth_c, len(truth_c))
            spare = [v for v in CATEGORIES[pool_c] if v not in truth_c]
            cases = [
                ("h_python_set" if answer_type == "set" else "h_arrows",
                 "{%s}" % ", ".join(repr(v) for v in order) if answer_type == "set" else " > ".join(order), "pass"),
                ("h_both_sentence", "%s all exceed the overall mean." % joined(order), "pass"),
                ("h_star_bullets", "The %s:\n%s" % (what, "\n".join("* %s (%d)" % (v, R.randint(5, 900)) for v in order)), "pass"),
                ("h_then", "The ranking is: %s." % ", then ".join("%s (%d)" % (v, c) for v, c in zip(order, sorted((R.randint(5, 900) for _ in order), reverse=True))), "pass"),
            ]
            if spare:
                cases.append(("h_extra_sentence", "%s all exceed the overall mean." % joined(order + [spare[0]]), "wrong"))
            if answer_type == "list" and len(order) >= 2:
                cases.append(("h_arrows_swapped", " > ".join([order[1], order[0]] + order[2:]), "wrong"))
            for variation, text, expected in cases:
                add(answer_type, truth_c, text, expected, variation)
        # Tables.
        truth_t, kind = table_truth()
        cols = truth_t["columns"]
        rows = truth_t["rows"]
        extra_col = [[cell(v) for v in r] + [str(R.randint(1, 500))] for r in rows]
        add("table", truth_t, md_table(["group" if i == 0 else "value_%d" % i for i in range(len(cols))] + ["count"], extra_col), "pass", "h_extra_column")
        if len(cols) == 2 and not isinstance(rows[0][1], str):
            pairs = ", ".join("%s %s" % (cell(r[0]), cell(r[1])) for r in rows)
            add("table", truth_t, "Per group: %s." % pairs, "pass", "h_inline_pairs")
            bad = perturb_rows(rows)
            add("table", truth_t, "Per group: %s." % ", ".join("%s %s" % (cell(r[0]), cell(r[1])) for r in bad), "wrong", "h_inline_pairs_wrong")
        # Reports.
        pool, values = category()
        facts = {"rows": R.randint(50, 400000), "columns": R.randint(3, 30), "mean": R.uniform(1, 5000),
                 "min": R.uniform(0, 1), "max": R.uniform(5000, 9000), "mode": pick(values), "mode_count": R.randint(10, 900)}
        text = ("# Dataset overview\n\n## Size\n- **Rows:** %s\n- **Columns:** %d\n\n## Distribution\n| Statistic | Value |\n"
                "|---|---|\n| Mean | %s |\n| Min | %s |\n| Max | %s |\n\n## Most common value\n**%s**, with %d rows (%s%%)."
                % (fmt(facts["rows"], 0, True), facts["columns"], cell(facts["mean"], 1, True), cell(facts["min"]), cell(facts["max"], 1, True),
                   facts["mode"], facts["mode_count"], fmt(100.0 * facts["mode_count"] / facts["rows"], 1)))
        add("report", facts, text, "pass", "h_markdown_report")
        add("report", facts, text.replace("**%s**" % facts["mode"], "**%s**" % pick([v for v in values if v != facts["mode"]])), "wrong", "h_markdown_report_wrong_mode")
        # Charts.
        truth_f, kind = table_truth()
        if len(truth_f["columns"]) == 2 and not isinstance(truth_f["rows"][0][1], str):
            pairs = ", ".join("%s %s" % (cell(r[0]), cell(r[1])) for r in truth_f["rows"])
            add("file", truth_f, "![Bar chart](outputs/counts.png)\n\nCounts: %s." % pairs, "pass", "h_image_inline_pairs", {"file": "counts.png"}, ["counts.png"])
        # Metrics.
        base = R.uniform(0.4, 0.7)
        good = R.uniform(base + 0.02, 0.97)
        checker = {"metric": "accuracy", "higher-is-better": True}
        add("metric", {"baseline": base}, "On the held-out test set (20%% of rows), the model achieved %s%% accuracy versus a majority-class baseline of %s%%."
            % (fmt(100 * good, 1), fmt(100 * base, 1)), "pass", "h_versus_baseline", checker)
        add("metric", {"baseline": base}, "Test accuracy: %s | Baseline accuracy: %s" % (fmt(good, 3), fmt(base, 3)), "pass", "h_pipe_baseline", checker)
        add("metric", {"baseline": base}, "Test accuracy: %s | Baseline accuracy: %s" % (fmt(base - 0.05, 3), fmt(base, 3)), "wrong", "h_pipe_below", checker)


def hedge_cases(n):
    """String answers that name several values at once (must fail), and sentences that name
    the answer with other words around it (must pass)."""
    for _ in range(n):
        pool, values = category(pick([k for k in sorted(CATEGORIES) if len(CATEGORIES[k]) >= 3]))
        truth = pick(values)
        others = [v for v in values if v != truth]
        o1, o2 = R.sample(others, 2)
        col = COLUMN_OF[pool]
        for variation, text, expected in [
            ("hedge_or", "%s or %s" % (truth, o1), "wrong"),
            ("hedge_list", "The answer is %s, %s and %s." % tuple(R.sample([truth, o1, o2], 3)), "wrong"),
            ("hedge_bold", "**%s or %s**" % (o1, truth), "wrong"),
            ("hedge_json", json.dumps({"answer": "%s, %s" % (truth, o1)}), "wrong"),
            ("apposition", "%s, the group with the most rows, also has the highest mean `%s`." % (truth, col), "pass"),
            ("with_clause", "%s, with %d rows, has the highest average." % (truth, R.randint(10, 900)), "pass"),
            ("home_to", "%s, home to %d of the rows, ranks first." % (truth, R.randint(10, 900)), "pass"),
            ("then_others", "%s has the highest average. %s and %s have lower averages." % (truth, o1, o2), "pass"),
        ]:
            add("string", truth, text, expected, variation)


def main():
    shutil.rmtree(os.path.join(OUT, "outputs"), ignore_errors=True)
    number_cases(75)
    integer_cases(50)
    string_cases(45)
    collection_cases("set", 30)
    collection_cases("list", 30)
    table_cases(25)
    file_cases(30)
    report_cases(40)
    metric_cases(40)
    heldout_cases(20)
    hedge_cases(20)
    with open(os.path.join(OUT, "corpus.jsonl"), "w", encoding="utf-8") as f:
        for c in CASES:
            f.write(json.dumps(c, ensure_ascii=False, sort_keys=False) + "\n")


if __name__ == "__main__":
    main()
