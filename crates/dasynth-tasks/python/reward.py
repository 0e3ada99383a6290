"""dasynth's answer checker as a reward function for RL trainers (verl's ``compute_score``).

Standard library only. It scores a completion exactly as ``dasynth verify`` checks an answer
(``dasynth_tasks::checker::check_answer``): the same places are searched for the answer, in
the same order, and numbers, strings, sets, lists, tables, charts, reports and model metrics
are compared with the ground truth the same way. A test in dasynth runs both over a labelled
corpus of several thousand answers and requires them to agree on every one.

Use it with verl::

    custom_reward_function.path=reward.py custom_reward_function.name=compute_score

``ground_truth`` (``reward_model.ground_truth`` in the RL parquet that ``dasynth export``
writes) is a JSON string::

    {"answer_type": "number", "truth": 4201.75, "checker": {...}}

``answer_type`` is one of number, integer, string, set, list, table, file, report, metric;
``truth`` is the task's ground truth (a number; a string; a list, where a nested list holds
values tied in rank; ``{"columns": [...], "rows": [[...]]}`` for tables and chart data;
``{"fact": value, ..., "checklist": [...]}`` for reports; ``{"baseline": x}`` for metrics);
``checker`` is the task's checker spec as ``tasks.parquet`` stores it (an object, or that
column's JSON text; a template's ``[checker]`` options work too, and an absent checker means
the defaults). ``truth`` is the decoded ground truth, not its JSON text. A dict with the same
keys is accepted in place of the JSON string.

``solution_str`` is a whole completion in DeepAnalyze's format. Its score:

* ``-1.0`` when DeepAnalyze's format check fails: no ``<Analyze>…</Analyze>`` pair, no
  ``<Answer>…</Answer>`` pair (or more than one, or tags inside it), or a ``<Code>`` block that
  is not a python fence (DeepAnalyze's own reward gives -1 for these);
* ``0.0`` when the answer is wrong or no value of the expected type can be read from it
  (``outcome`` tells them apart);
* ``1.0`` when it passes.

An unreadable answer scores like a wrong one: -1 stays reserved for the format failures
DeepAnalyze penalises, so no way of writing a value is punished more than a wrong value.

The returned dict also has ``outcome`` (pass, wrong, unextractable or format), ``reason`` and
``extracted``. ``extra_info`` may carry ``files`` (the names written under ``outputs/``) and
``outputs_dir`` (where they are) for chart answers; without ``files``, the files a ``<Code>``
block writes under ``outputs/`` (as the completion's text names them) count as written.
"""

import json
import os
import re

__all__ = ["compute_score", "check_answer", "answer_text", "format_error"]

# ---------------------------------------------------------------------------------------------
# Characters

_WS = set("\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | {chr(c) for c in range(0x2000, 0x200B)}


def _isspace(c):
    return c in _WS


def _strip(s):
    i, j = 0, len(s)
    while i < j and s[i] in _WS:
        i += 1
    while j > i and s[j - 1] in _WS:
        j -= 1
    return s[i:j]


def _isdigit(c):
    return "0" <= c <= "9"


def _isalpha(c):
    return ("a" <= c <= "z") or ("A" <= c <= "Z")


def _isword(c):
    return _isalpha(c) or _isdigit(c) or c == "_"


def _lower_ascii(s):
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in s)


def _matches_at(c, i, word):
    return c[i:i + len(word)] == word


# ---------------------------------------------------------------------------------------------
# Text


def norm_text(s):
    t = _strip(s).lower()
    if len(t.encode()) >= 19 and t[10:11] in ("t", " ") and t[:4].isascii() and t[:4].isdigit() and len(t[:4]) == 4:
        t = t[:10] + " " + t[11:]
        for suffix in (".000000", ".000"):
            if t.endswith(suffix):
                t = t[: -len(suffix)]
        if t.endswith(" 00:00:00"):
            t = t[:10]
    return t


def _is_date_at(c, i):
    pattern = "dddd-dd-dd"
    if i + len(pattern) > len(c) or (i > 0 and _isdigit(c[i - 1])):
        return False
    for p, x in zip(pattern, c[i:]):
        if (p == "d" and not _isdigit(x)) or (p != "d" and x != p):
            return False
    return True


def _drop_midnight(c):
    out = []
    i = 0
    while i < len(c):
        if _is_date_at(c, i) and i + 10 < len(c) and c[i + 10] in ("t", " ") and _matches_at(c, i + 11, "00:00:00"):
            out.append(c[i:i + 10])
            i += 19
            while i + 1 < len(c) and c[i] == "." and c[i + 1] == "0":
                i += 1
                while i < len(c) and c[i] == "0":
                    i += 1
            continue
        out.append(c[i])
        i += 1
    return "".join(out)


_QUOTES = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}


def plain(s):
    out = []
    space = False
    for c in s:
        if c in ("*", "`"):
            continue
        c = _QUOTES.get(c, c)
        if c in _WS:
            space = True
            continue
        if space and out:
            out.append(" ")
        space = False
        out.append(c.lower())
    return _drop_midnight("".join(out))


_OPENERS = "([{\"',;:|`*/\u2014\u2013"
_CLOSERS = ")]}\"',;:!?|`*/\u2014\u2013"


def phrase_positions(hay, needle):
    out = []
    if not needle or len(needle) > len(hay):
        return out
    n = len(needle)
    start = 0
    while True:
        s = hay.find(needle, start)
        if s < 0:
            break
        e = s + n
        before = s == 0 or hay[s - 1] in _WS or hay[s - 1] in _OPENERS
        after = (e == len(hay) or hay[e] in _WS or hay[e] in _CLOSERS
                 or (hay[e] == "." and (e + 1 == len(hay) or hay[e + 1] in _WS)))
        if before and after:
            out.append(s)
        start = s + 1
    return out


def contains_phrase(hay, needle):
    return bool(phrase_positions(plain(hay), plain(needle)))


COMPARISON_CUES = ["followed by", "ahead of", "more than", "less than", "rather than", "than", "compared",
                   "versus", "vs", "whereas", "while", "instead of"]
RUNNER_UP_CUES = ["second", "next", "follows", "trails", "runner-up", "runner up", "behind"]


def comparison_start(hay):
    starts = [p[0] for p in (phrase_positions(hay, cue) for cue in COMPARISON_CUES) if p]
    return min(starts) if starts else len(hay)


def runner_up_after(hay, end):
    stop = len(hay)
    for k in range(end, len(hay)):
        if hay[k] in (",", ";", ".", "!", "?", "("):
            stop = k
            break
    clause = hay[end:stop]
    return any(phrase_positions(clause, cue) for cue in RUNNER_UP_CUES)


def _fmt_num(x):
    """A JSON number as serde_json writes it."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if x == int(x) and abs(x) < 1e16:
        return repr(float(x))
    r = repr(x)
    if "e" in r:
        mant, exp = r.split("e")
        return mant + "e" + str(int(exp))
    return r


def scalar_text(v):
    if isinstance(v, str):
        return v
    if v is None:
        return ""
    return _to_json(v)


def _to_json(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return _fmt_num(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ",".join(_to_json(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + _to_json(x) for k, x in sorted(v.items())) + "}"
    return str(v)


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _as_f64(v):
    return float(v) if _is_number(v) else None


# ---------------------------------------------------------------------------------------------
# Numbers

ROUNDING_SHARE = 0.01


def pow10(k):
    r = 1.0
    for _ in range(abs(k)):
        r *= 10.0
    return 1.0 / r if k < 0 else r


def _is_minus(c):
    return c in ("-", "\u2212", "\u2013")


_GROUP = (",", "\xa0", "\u202f", "\u2009")


def _word_at(c, i, word):
    n = len(word)
    if i + n > len(c):
        return False
    if _lower_ascii(c[i:i + n]) != word:
        return False
    return i + n == len(c) or not _isalpha(c[i + n])


def _at_line_start(c, i):
    k = i
    while k > 0 and c[k - 1] in (" ", "\t"):
        k -= 1
    return k == 0 or c[k - 1] == "\n"


class Written:
    __slots__ = ("value", "half_unit", "percent", "whole", "start", "end", "in_parens")

    def __init__(self, value, half_unit, percent, whole, start, end, in_parens):
        self.value = value
        self.half_unit = half_unit
        self.percent = percent
        self.whole = whole
        self.start = start
        self.end = end
        self.in_parens = in_parens


def _times_ten_power(c, j):
    n = len(c)
    k = j
    while k < n and c[k] == " ":
        k += 1
    if k < n and c[k] in ("\xd7", "x", "*"):
        k += 1
    elif _matches_at(c, k, "\\times"):
        k += 6
    else:
        return None
    while k < n and c[k] == " ":
        k += 1
    if not (k + 1 < n and c[k] == "1" and c[k + 1] == "0"):
        return None
    k += 2
    while k < n and c[k] == " ":
        k += 1
    if k >= n or c[k] != "^":
        return None
    k += 1
    brace = k < n and c[k] == "{"
    if brace:
        k += 1
    r = _signed_exponent(c, k)
    if r is None:
        return None
    e, k = r
    if brace:
        if k < n and c[k] == "}":
            k += 1
        else:
            return None
    return e, k


def _signed_exponent(c, k):
    sign = 1
    if k < len(c) and (c[k] == "+" or _is_minus(c[k])):
        if _is_minus(c[k]):
            sign = -1
        k += 1
    ds = k
    while k < len(c) and _isdigit(c[k]):
        k += 1
    if k == ds or k - ds > 3:
        return None
    return sign * int(c[ds:k]), k


def scan(c):
    n = len(c)
    out = []
    depth = 0
    i = 0
    while i < n:
        ch = c[i]
        if ch == "(":
            depth += 1
            i += 1
            continue
        if ch == ")":
            depth = max(depth - 1, 0)
            i += 1
            continue
        neg = _is_minus(ch) and i + 1 < n and _isdigit(c[i + 1]) and (i == 0 or not _isword(c[i - 1]))
        if not neg and not _isdigit(ch):
            i += 1
            continue
        if not neg and i > 0 and (_isalpha(c[i - 1]) or c[i - 1] == "_"):
            while i < n and _isword(c[i]):
                i += 1
            continue
        start = i
        j = i + 1 if neg else i
        int_start = j
        while j < n and _isdigit(c[j]):
            j += 1
        int_digits = j - int_start
        if (not neg and _at_line_start(c, start) and j + 1 < n and c[j] in (".", ")")
                and c[j + 1] in (" ", "\t")):
            i = j + 1
            continue
        digits = c[int_start:j]
        grouped = False
        if int_digits <= 3:
            while (j + 3 < n and c[j] in _GROUP and all(_isdigit(d) for d in c[j + 1:j + 4])
                   and (j + 4 == n or not _isdigit(c[j + 4]))):
                digits += c[j + 1:j + 4]
                j += 4
                grouped = True
        decimals = 0
        if j + 1 < n and c[j] == "." and _isdigit(c[j + 1]):
            digits += "."
            j += 1
            while j < n and _isdigit(c[j]):
                digits += c[j]
                decimals += 1
                j += 1
        plain_int = not grouped and decimals == 0
        if plain_int and not neg:
            date = int_digits == 4 and j + 1 < n and c[j] in ("-", "/") and _isdigit(c[j + 1])
            time = int_digits <= 2 and j + 1 < n and c[j] in (":", "/") and _isdigit(c[j + 1])
            if date or time:
                while j < n and (_isdigit(c[j]) or c[j] in ("-", "/", ":", ".", "T")):
                    j += 1
                i = j
                continue
        if (j + 1 < n and any(_word_at(c, j, s) for s in ("st", "nd", "rd", "th")) and plain_int
                and (j + 2 == n or not _isalpha(c[j + 2]))):
            i = j + 2
            continue
        exponent = 0
        has_exponent = False
        if j + 1 < n and c[j] in ("e", "E"):
            r = _signed_exponent(c, j + 1)
            if r is not None and (r[1] == n or not _isalpha(c[r[1]])):
                exponent, j = r
                has_exponent = True
        if not has_exponent:
            r = _times_ten_power(c, j)
            if r is not None:
                exponent, j = r
                has_exponent = True
        text_value = ("-" if neg else "") + digits
        try:
            mantissa = float(text_value)
        except ValueError:
            i = max(j, i + 1)
            continue
        scale = 1.0
        k = j
        if k < n and (k + 1 == n or not _isalpha(c[k + 1])) and c[k] in ("k", "K", "M", "B"):
            scale = {"M": 1e6, "B": 1e9}.get(c[k], 1e3)
            k += 1
        elif k + 1 < n and c[k] == "b" and c[k + 1] == "n" and (k + 2 == n or not _isalpha(c[k + 2])):
            scale = 1e9
            k += 2
        else:
            w = k + 1 if (k < n and c[k] == " ") else k
            for word, s in (("thousand", 1e3), ("million", 1e6), ("billion", 1e9), ("trillion", 1e12)):
                if _word_at(c, w, word):
                    scale = s
                    k = w + len(word)
                    break
        percent = False
        p = k + 1 if (k < n and c[k] == " ") else k
        if p < n and c[p] == "%":
            percent = True
            k = p + 1
        else:
            for word in ("percent", "per cent", "pct"):
                if _word_at(c, p, word):
                    percent = True
                    k = p + len(word)
                    break
        value = mantissa * pow10(exponent) * scale
        half_unit = 0.5 * pow10(exponent - decimals) * scale
        out.append(Written(value, half_unit, percent, decimals == 0 and not has_exponent and scale == 1.0,
                           start, k, depth > 0))
        i = k
    return out


def _readings(w):
    r = [(w.value, w.half_unit)]
    if w.percent:
        r.append((w.value / 100.0, w.half_unit / 100.0))
    return r


def close(spec, x, truth):
    return abs(x - truth) <= max(spec["abs_tolerance"], spec["tolerance"] * abs(truth))


def matches(spec, w, truth):
    for x, half in _readings(w):
        if close(spec, x, truth):
            return True
        if half <= ROUNDING_SHARE * abs(truth) and abs(x - truth) <= half * (1.0 + 1e-6):
            return True
    return False


def matches_whole(spec, w, truth):
    return float(w.value).is_integer() and close(spec, w.value, truth)


NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"]


def last_number_word(c):
    found = None
    i = 0
    while i < len(c):
        if _isalpha(c[i]) and (i == 0 or not _isalpha(c[i - 1])):
            e = i
            while e < len(c) and _isalpha(c[e]):
                e += 1
            word = _lower_ascii(c[i:e])
            if word in NUMBER_WORDS:
                found = Written(float(NUMBER_WORDS.index(word)), 0.5, False, True, i, e, False)
            i = e
        else:
            i += 1
    return found


# ---------------------------------------------------------------------------------------------
# Literals (JSON and Python reprs)

_NULL = object()


class Num:
    """A number with the text it was written with."""
    __slots__ = ("value", "text")

    def __init__(self, value, text):
        self.value = value
        self.text = text


class _Parser:
    def __init__(self, c):
        self.c = c
        self.depth = 0

    def spaces(self, i):
        while i < len(self.c) and self.c[i] in _WS:
            i += 1
        return i

    def word(self, i, w):
        c = self.c
        return (c[i:i + len(w)] == w
                and (i + len(w) == len(c) or not (c[i + len(w)].isascii() and (c[i + len(w)].isalnum() or c[i + len(w)] == "_"))))

    def value(self, i):
        if self.depth > 32:
            return None
        i = self.spaces(i)
        if i >= len(self.c):
            return None
        ch = self.c[i]
        if ch == "{":
            return self.map(i + 1)
        if ch == "[":
            return self.list(i + 1, "]")
        if ch == "(":
            return self.list(i + 1, ")")
        if ch in ('"', "'"):
            r = self.string(i + 1, ch)
            return None if r is None else (r[0], r[1])
        for w, v in (("True", True), ("true", True), ("False", False), ("false", False),
                     ("None", _NULL), ("null", _NULL), ("nan", _NULL), ("NaN", _NULL)):
            if self.word(i, w):
                return v, i + len(w)
        r = self.wrapped(i)
        if r is not None:
            return r
        return self.number(i)

    def wrapped(self, i):
        c = self.c
        for w in ("np.", "numpy."):
            if c[i:i + len(w)] == w:
                k = i + len(w)
                s = k
                while k < len(c) and c[k].isascii() and (c[k].isalnum() or c[k] == "_"):
                    k += 1
                if k == s or k >= len(c) or c[k] != "(":
                    return None
                self.depth += 1
                r = self.value(k + 1)
                if r is None:
                    return None
                self.depth -= 1
                v, e = r
                e = self.spaces(e)
                return (v, e + 1) if (e < len(c) and c[e] == ")") else None
        return None

    def number(self, i):
        c = self.c
        k = i
        if k < len(c) and c[k] in ("-", "+"):
            k += 1
        ds = k
        while k < len(c) and _isdigit(c[k]):
            k += 1
        if k == ds:
            return None
        if k + 1 < len(c) and c[k] == "." and _isdigit(c[k + 1]):
            k += 1
            while k < len(c) and _isdigit(c[k]):
                k += 1
        elif k < len(c) and c[k] == ".":
            k += 1
        if k < len(c) and c[k] in ("e", "E"):
            e = k + 1
            if e < len(c) and c[e] in ("-", "+"):
                e += 1
            es = e
            while e < len(c) and _isdigit(c[e]):
                e += 1
            if e > es:
                k = e
        if k < len(c) and c[k].isascii() and (c[k].isalnum() or c[k] == "_"):
            return None
        text = c[i:k]
        digits = text.lstrip("+").rstrip(".")
        try:
            x = float(digits)
        except ValueError:
            return None
        if x != x or x in (float("inf"), float("-inf")):
            return None
        return Num(x, text.lstrip("+")), k

    def string(self, i, quote):
        c = self.c
        s = []
        while i < len(c):
            ch = c[i]
            if ch == quote:
                return "".join(s), i + 1
            if ch == "\n":
                return None
            if ch == "\\":
                if i + 1 >= len(c):
                    return None
                e = c[i + 1]
                i += 2
                if e == "n":
                    s.append("\n")
                elif e == "t":
                    s.append("\t")
                elif e == "r":
                    s.append("\r")
                elif e == "u":
                    h = c[i:i + 4]
                    if len(h) < 4:
                        return None
                    try:
                        code = int(h, 16)
                    except ValueError:
                        return None
                    if not all(x in "0123456789abcdefABCDEF" for x in h):
                        return None
                    s.append("\ufffd" if 0xD800 <= code <= 0xDFFF else chr(code))
                    i += 4
                else:
                    s.append(e)
                continue
            s.append(ch)
            i += 1
        return None

    def list(self, i, close_ch):
        self.depth += 1
        items = []
        k = self.spaces(i)
        if k < len(self.c) and self.c[k] == close_ch:
            self.depth -= 1
            return items, k + 1
        while True:
            r = self.value(k)
            if r is None:
                return None
            v, e = r
            items.append(v)
            k = self.spaces(e)
            nxt = self.c[k] if k < len(self.c) else None
            if nxt == ",":
                k = self.spaces(k + 1)
                if k < len(self.c) and self.c[k] == close_ch:
                    self.depth -= 1
                    return items, k + 1
            elif nxt == close_ch:
                self.depth -= 1
                return items, k + 1
            else:
                return None

    def map(self, i):
        self.depth += 1
        entries = []
        k = self.spaces(i)
        if k < len(self.c) and self.c[k] == "}":
            self.depth -= 1
            return _Map(entries), k + 1
        while True:
            r = self.value(k)
            if r is None:
                return None
            key, e = r
            if isinstance(key, str):
                pass
            elif isinstance(key, Num):
                key = key.text
            else:
                return None
            k = self.spaces(e)
            if not entries and k < len(self.c) and self.c[k] in (",", "}"):
                # A Python set: {'a', 'b'}.
                self.depth -= 1
                return self.list(i, "}")
            if k >= len(self.c) or self.c[k] != ":":
                return None
            r = self.value(k + 1)
            if r is None:
                return None
            v, e = r
            entries.append((key, v))
            k = self.spaces(e)
            nxt = self.c[k] if k < len(self.c) else None
            if nxt == ",":
                k = self.spaces(k + 1)
                if k < len(self.c) and self.c[k] == "}":
                    self.depth -= 1
                    return _Map(entries), k + 1
            elif nxt == "}":
                self.depth -= 1
                return _Map(entries), k + 1
            else:
                return None


class _Map:
    __slots__ = ("entries",)

    def __init__(self, entries):
        self.entries = entries

    def get(self, key):
        want = key_form(key)
        for k, v in self.entries:
            if key_form(k) == want:
                return v
        return None


def parse_at(c, i):
    return _Parser(c).value(i)


def parse_all(text):
    r = parse_at(text, 0)
    if r is None:
        return None
    v, end = r
    end = _Parser(text).spaces(end)
    return v if end == len(text) else None


def lit_text(v):
    if v is _NULL:
        return ""
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, Num):
        return v.text
    if isinstance(v, str):
        return v
    if isinstance(v, list):
        return ", ".join(lit_text(x) for x in v)
    if isinstance(v, _Map):
        return ", ".join(k + ": " + lit_text(x) for k, x in v.entries)
    return str(v)


def lit_is_scalar(v):
    return not isinstance(v, (list, _Map))


def key_form(k):
    return "".join(c for c in plain(k) if c not in ("_", "-", " "))


def containers(text, with_parens):
    out = []
    i = 0
    while i < len(text):
        if text[i] in ("{", "[") or (with_parens and text[i] == "("):
            r = parse_at(text, i)
            if r is not None:
                out.append((i, r[1], r[0]))
                i = r[1]
                continue
        i += 1
    return out


# ---------------------------------------------------------------------------------------------
# Places in an answer


class Answer:
    def __init__(self, text):
        c = text
        prose = []
        fences = []
        i = 0
        while i < len(c):
            op = c.find("```", i)
            if op < 0:
                break
            nl = c.find("\n", op + 3)
            if nl < 0:
                break
            prose.append(c[i:op])
            lang = _strip(c[op + 3:nl]).lower()
            close_at = c.find("```", nl + 1)
            if close_at < 0:
                body_end, nxt = len(c), len(c)
            else:
                body_end, nxt = close_at, close_at + 3
            fences.append((lang, c[nl + 1:body_end]))
            prose.append("\n")
            i = nxt
        if i < len(c):
            prose.append(c[i:])
        self.raw = text
        self.prose = "".join(prose)
        self.fences = fences

    def statement(self):
        """The prose without its markdown tables (supporting data, not the answer's sentence)."""
        lines = _lines(self.prose)
        drop = [False] * len(lines)
        i = 1
        while i < len(lines):
            if _is_separator(lines[i]) and "|" in lines[i - 1]:
                drop[i - 1] = drop[i] = True
                k = i + 1
                while k < len(lines) and "|" in lines[k] and not _is_separator(lines[k]):
                    drop[k] = True
                    k += 1
                i = k
                continue
            i += 1
        return "\n".join(ln for ln, d in zip(lines, drop) if not d)

    def data_fences(self):
        return [b for lang, b in self.fences if lang in ("", "text", "txt", "csv", "tsv", "json", "output", "console",
                                                           "plaintext", "markdown", "md")]


def markers(c):
    out = []
    i = 0
    while i < len(c):
        if c[i] == "@" and (i == 0 or not _isword(c[i - 1])):
            k = i + 1
            while k < len(c) and _isword(c[k]):
                k += 1
            if k > i + 1 and not _isdigit(c[i + 1]) and k < len(c) and c[k] == "[":
                e = k + 1
                while e < len(c) and c[e] not in ("]", "[", "\n"):
                    e += 1
                if e < len(c) and c[e] == "]":
                    out.append((c[i + 1:k], c[k + 1:e]))
                    i = e + 1
                    continue
        i += 1
    return out


def boxed(c):
    out = []
    frm = 0
    while True:
        p = c.find("\\boxed{", frm)
        if p < 0:
            break
        depth = 1
        k = p + 7
        while k < len(c) and depth > 0:
            if c[k] == "{":
                depth += 1
            elif c[k] == "}":
                depth -= 1
            k += 1
        if depth != 0:
            break
        out.append(c[p + 7:k - 1])
        frm = k
    return out


LABELS = ["answer", "final answer", "result", "results", "summary", "conclusion", "note", "answer summary",
          "final result"]


def _trim_chars(s, pred):
    i, j = 0, len(s)
    while i < j and pred(s[i]):
        i += 1
    while j > i and pred(s[j - 1]):
        j -= 1
    return s[i:j]


def bold_spans(c):
    out = []
    depth = 0
    i = 0
    opened = None
    while i < len(c):
        if c[i] == "\n":
            opened = None
        if i + 1 < len(c) and c[i] == "*" and c[i + 1] == "*":
            if opened is None:
                opened = (i + 2, depth)
            else:
                s, d = opened
                span = c[s:i]
                k = i + 2
                while k < len(c) and c[k] == "*":
                    k += 1
                after = k
                while after < len(c) and c[after] == " ":
                    after += 1
                colon = after < len(c) and c[after] in (":", "\uff1a")
                p = _trim_chars(plain(span), lambda ch: ch in (" ", "*"))
                label = p == "" or p.endswith(":") or colon or p in LABELS
                if not label:
                    out.append((_trim_chars(span, lambda ch: ch == "*" or ch in _WS), d > 0))
                opened = None
                i = k
                continue
            i += 2
            continue
        if c[i] == "(":
            depth += 1
        elif c[i] == ")":
            depth = max(depth - 1, 0)
        i += 1
    return out


def _lines(text):
    """str.lines() of Rust: split at \\n, drop one trailing \\r, no final empty line."""
    if text == "":
        return []
    parts = text.split("\n")
    if parts and parts[-1] == "":
        parts.pop()
    return [p[:-1] if p.endswith("\r") else p for p in parts]


def _lstrip_ws(s):
    i = 0
    while i < len(s) and s[i] in _WS:
        i += 1
    return s[i:]


def answer_lines(text):
    lines = _lines(text)
    out = []
    for n, line in enumerate(lines):
        s = line.replace("*", "")
        i = 0
        while i < len(s) and (s[i] in ("#", ">") or s[i] in _WS):
            i += 1
        s = s[i:]
        lower = s.lower()
        word = None
        for w in ("final answer", "answer", "final result", "results", "result"):
            if lower.startswith(w):
                word = w
                break
        if word is None:
            continue
        rest = _lstrip_ws(s[len(word):])
        if rest[:1] in (":", "=", "\uff1a") and rest:
            rest = _strip(rest[1:])
        else:
            continue
        if rest:
            out.append(rest)
        else:
            for nxt in lines[n + 1:]:
                if _strip(nxt):
                    out.append(_strip(nxt))
                    break
    return out


def literals(answer, embedded):
    out = []
    v = parse_all(_strip(answer.raw))
    if v is not None:
        return [(v, False)]
    for body in reversed(answer.data_fences()):
        v = parse_all(_strip(body))
        if v is not None:
            out.append((v, False))
    if embedded:
        for _, _, v in reversed(containers(answer.prose, False)):
            out.append((v, True))
    return out


def list_item(line):
    t = _lstrip_ws(line)
    for m in ("- ", "* ", "+ ", "\u2022 "):
        if t.startswith(m):
            return _strip(t[len(m):])
    digits = 0
    while digits < len(t) and _isdigit(t[digits]):
        digits += 1
    if 0 < digits <= 3:
        rest = t[digits:]
        if rest.startswith(". ") or rest.startswith(") "):
            return _strip(rest[2:])
    return None


def _lower1(ch):
    low = ch.lower()
    return low[0] if low else ch


def _guard_mask(c, keep):
    lower = [_lower1(ch) for ch in c]
    guarded = [False] * len(c)
    for v in keep:
        v = [_lower1(ch) for ch in v]
        if not v or len(v) > len(c):
            continue
        for s in range(len(c) - len(v) + 1):
            if lower[s:s + len(v)] == v:
                for q in range(s, s + len(v)):
                    guarded[q] = True
    return guarded


def sentences(c, keep=()):
    guarded = _guard_mask(c, keep)
    out = []
    cur = []
    for i, ch in enumerate(c):
        if ch == "\n" and not guarded[i]:
            out.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
        if ch in (".", "!", "?") and not guarded[i] and (i + 1 == len(c) or c[i + 1] in (" ", "\n")):
            out.append("".join(cur))
            cur = []
    out.append("".join(cur))
    return [_strip(s) for s in out if _strip(s)]


def split_enumeration(c, keep=()):
    guarded = _guard_mask(c, keep)
    ranges = []
    start = 0
    i = 0
    while i < len(c):
        if not guarded[i]:
            sep = None
            if (c[i] == "," and (i + 1 == len(c) or c[i + 1] in _WS)) or c[i] == ";":
                sep = 1
            else:
                for x in (" and ", " or ", " & "):
                    if _matches_at(c, i, x):
                        sep = len(x)
                        break
            if sep is not None:
                ranges.append((start, i))
                i += sep
                start = i
                continue
        i += 1
    ranges.append((start, len(c)))
    out = []
    for s, e in ranges:
        def trim(s, e):
            while s < e and c[s] in _WS:
                s += 1
            while e > s and c[e - 1] in _WS:
                e -= 1
            return s, e
        s, e = trim(s, e)
        for lead in ("and ", "or "):
            if c[s:s + len(lead)] == lead and s + len(lead) <= e:
                s += len(lead)
                break
        s, e = trim(s, e)
        while e > s and c[e - 1] in (".", "!", "?") and not guarded[e - 1]:
            e -= 1
        s, e = trim(s, e)
        if e > s:
            out.append(c[s:e])
    return out


# ---------------------------------------------------------------------------------------------
# Checks


def _result(outcome, reason, extracted=None):
    return {"outcome": outcome, "reason": reason, "extracted": extracted}


ANSWER_KEYS = ["answer", "value", "result", "finalanswer", "score"]
YEAR_WORDS = ["in", "since", "during", "from", "between", "by", "until", "before", "after", "through", "to"]
BASELINE_WORDS = ["baseline", "naive", "dummy", "majority", "mean predictor", "constant"]


def _year_like(w):
    return w.whole and not w.percent and w.end - w.start == 4 and 1000.0 <= w.value <= 2999.0


def _is_year_reference(c, w):
    if not _year_like(w):
        return False
    k = w.start
    while k > 0 and c[k - 1] == " ":
        k -= 1
    e = k
    while k > 0 and _isalpha(c[k - 1]):
        k -= 1
    return _lower_ascii(c[k:e]) in YEAR_WORDS


_CLAUSE_WORDS = [" but ", " while ", " whereas ", " versus ", " vs ", " vs. ", " compared ", " against ", " and "]


def _clause(c, start, end):
    def boundary(k):
        ch = c[k]
        if ch in ("\n", ";", "(", ")", "|") or (ch in (",", ".") and k + 1 < len(c) and c[k + 1] == " "):
            return 1
        for w in _CLAUSE_WORDS:
            if k + len(w) <= len(c) and _lower_ascii(c[k:k + len(w)]) == w:
                return len(w)
        return None

    s = 0
    k = 0
    while k < start:
        ln = boundary(k)
        if ln is not None and k + ln <= start:
            s = k + ln
            k += ln
        else:
            k += 1
    e = len(c)
    k = end
    while k < len(c):
        if boundary(k) is not None:
            e = k
            break
        k += 1
    return s, max(e, s)


def _about_baseline(c, w):
    s, e = _clause(c, w.start, w.end)
    text = c[s:e].lower()
    return any(b in text for b in BASELINE_WORDS)


COPULAS = ["is", "was", "are", "were", "be", "been", "equals", "equal", "of", "at", "reaches", "reached", "gives",
           "yields", "totals", "totaled", "totalled"]
HEDGES = ["approximately", "about", "around", "roughly", "nearly", "almost", "exactly", "only", "just", "precisely",
          "some"]


def _word_before(c, k):
    e = k
    while k > 0 and _isalpha(c[k - 1]):
        k -= 1
    return _lower_ascii(c[k:e]), k


def after_copula(c, start):
    k = start
    while True:
        while k > 0 and c[k - 1] in (" ", "*", "`", "$", "\u20ac", "\xa3", "~"):
            k -= 1
        if k == 0:
            return False
        ch = c[k - 1]
        if ch in ("=", ":", "\u2248"):
            if ch == "=":
                j = k - 1
                while j > 0 and c[j - 1] == " ":
                    j -= 1
                v = j
                while v > 0 and _isword(c[v - 1]):
                    v -= 1
                if j - v == 1:
                    return False
            return True
        word, ws = _word_before(c, k)
        if word in HEDGES:
            k = ws
            continue
        if word in COPULAS:
            if word == "of":
                j = ws
                while j > 0 and c[j - 1] == " ":
                    j -= 1
                if _word_before(c, j)[0] == "out":
                    return False
            return True
        return False


CONTEXT_NOUNS = ["rows", "row", "records", "observations", "samples", "entries", "values", "points", "columns",
                 "non-null", "nonnull", "missing", "complete", "valid", "cases"]


CONTEXT_LABELS = ["n", "count", "number", "sample", "size"]


def _is_context(c, w):
    """A count that describes the data rather than answers: "342 rows", "Rows used: 342"."""
    k = w.end
    while k < len(c) and c[k] == " ":
        k += 1
    e = k
    while e < len(c) and (_isalpha(c[e]) or c[e] == "-"):
        e += 1
    if _lower_ascii(c[k:e]) in CONTEXT_NOUNS:
        return True
    ls = w.start
    while ls > 0 and c[ls - 1] != "\n":
        ls -= 1
    before = c[ls:w.start]
    p = before.rfind(":")
    if p < 0:
        return False
    label = _lower_ascii(before[:p])
    words = []
    cur = []
    for ch in label:
        if _isalpha(ch) or ch == "-":
            cur.append(ch)
        else:
            if cur:
                words.append("".join(cur))
            cur = []
    if cur:
        words.append("".join(cur))
    words = [x for x in words if any(_isalpha(ch) for ch in x)]
    return bool(words) and (words[0] in CONTEXT_NOUNS or words[0] in CONTEXT_LABELS)


def prose_number(text, answer_type, years):
    metric = answer_type == "metric"
    nums = [w for w in scan(text) if not (metric and _about_baseline(text, w))]
    if years:
        kept = [w for w in nums if _is_year_reference(text, w)] or [w for w in nums if _year_like(w)]
    else:
        kept = [w for w in nums if not _is_year_reference(text, w)]
    if kept:
        nums = kept
    if answer_type in ("number", "metric"):
        answers = [w for w in nums if not _is_context(text, w)]
        if answers:
            nums = answers
    outside = [w for w in nums if not w.in_parens]
    if outside:
        nums = outside
    stated = [w for w in nums if after_copula(text, w.start)]
    if stated:
        return stated[0]
    return nums[-1] if nums else None


def value_line(prose):
    found = None
    for line in _lines(prose):
        item = list_item(line)
        if item is None:
            item = line
        t = _strip("".join(ch for ch in item if ch not in ("*", "`", "#", ">")))
        nums = scan(t)
        if len(nums) != 1 or ":" in t or "|" in t:
            continue
        rest = t[:nums[0].start] + t[nums[0].end:]
        if any(_isdigit(ch) for ch in rest):
            continue
        words = [w for w in _split_ws(rest) if any(ch.isalnum() for ch in w)]
        if len(words) <= 2:
            found = (nums[0], t)
    return found


def _split_ws(s):
    out = []
    cur = []
    for ch in s:
        if ch in _WS:
            if cur:
                out.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
    if cur:
        out.append("".join(cur))
    return out


def first_number(text):
    nums = scan(text)
    return nums[0] if nums else None


def literal_scalar(v, metric, single):
    if isinstance(v, (Num, str, bool)):
        return v
    if isinstance(v, list):
        return literal_scalar(v[0], metric, single) if len(v) == 1 else None
    if isinstance(v, _Map):
        m = key_form(metric) if metric is not None else ""
        if m:
            for k, x in v.entries:
                kf = key_form(k)
                if m in kf and "baseline" not in kf:
                    return literal_scalar(x, None, False)
        for key in ANSWER_KEYS:
            x = v.get(key)
            if x is not None:
                return literal_scalar(x, None, False)
        if single:
            scalars = [x for _, x in v.entries if lit_is_scalar(x) and x is not _NULL]
            if len(v.entries) == 1 and len(scalars) == 1:
                return scalars[0]
            numeric = [x for x in scalars if isinstance(x, Num)]
            if len(numeric) == 1:
                return numeric[0]
        return None
    return None


def find_number(spec, answer, truth):
    metric = spec["answer_type"] == "metric"
    years = truth is not None and float(truth).is_integer() and 1000.0 <= truth <= 2999.0
    metric_name = spec.get("metric") if metric else None
    for _, v in reversed(markers(answer.prose)):
        w = first_number(v)
        if w is not None:
            return w, _strip(v), "marker"
    for lit, embedded in literals(answer, True):
        if embedded and not isinstance(lit, _Map):
            continue
        v = literal_scalar(lit, metric_name, not embedded)
        if v is not None:
            shown = lit_text(v)
            w = first_number(shown)
            if w is not None:
                return w, _strip(shown), "literal"
    for b in reversed(boxed(answer.prose)):
        w = first_number(b)
        if w is not None:
            return w, _strip(b), "boxed"
    bold = []
    for s, paren in bold_spans(answer.prose):
        w = first_number(s)
        if w is not None:
            bold.append((w, s, paren))
    outside = [b for b in bold if not b[2]]
    pick = outside[-1] if outside else (bold[-1] if bold else None)
    if pick is not None:
        return pick[0], _strip(pick[1]), "bold"
    lines = answer_lines(answer.prose)
    if lines:
        line = lines[-1]
        w = prose_number(line, spec["answer_type"], years)
        if w is not None:
            return w, _strip(line), "answer line"
    statement = answer.statement()
    vl = value_line(statement)
    if vl is not None:
        return vl[0], vl[1], "value line"
    for text in (statement, answer.prose):
        w = prose_number(text, spec["answer_type"], years)
        if w is not None:
            return w, _strip(text[w.start:w.end]), "prose"
    fenced = "\n".join(b for _, b in answer.fences)
    w = prose_number(fenced, spec["answer_type"], years)
    if w is not None:
        return w, _strip(fenced[w.start:w.end]), "prose"
    if spec["answer_type"] == "integer":
        w = last_number_word(answer.prose)
        if w is not None:
            return w, _strip(answer.prose[w.start:w.end]), "number word"
    return None


def _truth_number(truth):
    if _is_number(truth):
        return float(truth)
    if isinstance(truth, str) and _rust_float_syntax(_strip(truth)):
        try:
            return float(_strip(truth))
        except ValueError:
            return None
    return None


def check_number(spec, truth, answer):
    t = _truth_number(truth)
    if t is None:
        return _result("wrong", "the ground truth is not a number")
    f = find_number(spec, answer, t)
    if f is None:
        return _result("unextractable", "the answer states no number")
    w, shown, source = f
    if spec["answer_type"] == "integer":
        ok = matches_whole(spec, w, t)
    else:
        ok = matches(spec, w, t)
    if ok:
        return _result("pass", "%s (%s) states %r" % (shown, source, t), shown)
    if spec["answer_type"] == "integer" and not float(w.value).is_integer():
        return _result("wrong", "expected the whole number %r, the answer's %s (%s) is not whole" % (t, shown, source), shown)
    return _result("wrong", "expected %r, the answer's %s (%s) is outside the tolerance" % (t, shown, source), shown)


UNIT_METRICS = ["accuracy", "acc", "f1", "f1score", "precision", "recall", "auc", "rocauc", "balancedaccuracy", "iou"]
ERROR_METRICS = ["mae", "mse", "rmse", "mape", "logloss", "crossentropy", "error"]
AT_MOST_ONE = ["r2", "rsquared", "r\xb2"]


def check_metric(spec, truth, answer):
    baseline = _as_f64(truth.get("baseline")) if isinstance(truth, dict) else None
    if baseline is None:
        return _result("wrong", "the ground truth has no numeric baseline")
    name = spec.get("metric")
    name = "score" if name is None else name
    f = find_number(spec, answer, None)
    if f is None:
        return _result("unextractable", "the answer states no %s" % name)
    w, shown, source = f
    form = key_form(name)
    score = w.value / 100.0 if w.percent else w.value
    if form in UNIT_METRICS and not w.percent and 1.0 < score <= 100.0:
        score /= 100.0
    if score != score or score in (float("inf"), float("-inf")):
        return _result("wrong", "%s %s is not a finite number" % (name, shown), shown)
    impossible = ((form in UNIT_METRICS and not (0.0 <= score <= 1.0))
                  or (form in ERROR_METRICS and score < 0.0)
                  or (form in AT_MOST_ONE and score > 1.0))
    if impossible:
        return _result("wrong", "%s is not a possible %s" % (shown, name), shown)
    higher = spec.get("higher_is_better")
    higher = True if higher is None else higher
    ok = score >= baseline - 1e-9 if higher else score <= baseline + 1e-9
    if ok:
        return _result("pass", "%s %s (%s) reaches the baseline %r" % (name, shown, source, baseline), shown)
    return _result("wrong", "%s %s (%s) does not beat the baseline %r" % (name, shown, source, baseline), shown)


def find_text(answer):
    m = markers(answer.prose)
    if m:
        return m[-1][1], "marker"
    for lit, embedded in literals(answer, True):
        if embedded and not isinstance(lit, _Map):
            continue
        v = literal_scalar(lit, None, not embedded)
        if v is not None:
            return lit_text(v), "literal"
    b = boxed(answer.prose)
    if b:
        return b[-1], "boxed"
    spans = bold_spans(answer.prose)
    if spans:
        return spans[0][0], "bold"
    lines = answer_lines(answer.prose)
    if lines:
        return lines[-1], "answer line"
    statement = answer.statement()
    if any(ch.isalnum() for ch in statement):
        return statement, "text"
    return answer.prose, "text"


def _hedged(text, needle):
    """Other values a list-like sentence names besides the answer ("Biscoe or Dream")."""
    pieces = split_enumeration(text, [needle])
    if len(pieces) < 2:
        return []
    extras = []
    for piece in pieces:
        hay = plain(piece)
        if phrase_positions(hay, needle):
            continue
        if any(phrase_positions(hay, cue) for cue in RUNNER_UP_CUES):
            continue
        if len([w for w in _lead_in_stripped(hay).split(" ") if w]) > 3:
            return []
        x = _extra(piece, False, False)
        if x is not None:
            extras.append(x)
    return extras


def check_string(truth, answer):
    found, source = find_text(answer)
    hay = plain(found)
    bare = _strip(_strip(hay).rstrip(":"))
    if all(not ch.isalnum() for ch in bare) or bare in LABELS:
        return _result("unextractable", "the answer is empty")
    names = [scalar_text(truth)]
    if truth is True:
        names.append("yes")
    elif truth is False:
        names.append("no")
    shown = _strip(found)[:200]
    keep = [plain(n) for n in names]
    for sentence in sentences(hay, keep):
        cut = comparison_start(sentence)
        for needle in keep:
            if not any(p < cut and not runner_up_after(sentence, p + len(needle)) for p in phrase_positions(sentence, needle)):
                continue
            extras = _hedged(sentence[:cut], needle)
            if extras:
                return _result("wrong", "the answer (%s) names %s besides %s" % (source, ", ".join(json.dumps(x) for x in extras), _to_json(truth)), shown)
            return _result("pass", "the answer (%s) names %s" % (source, _to_json(truth)), shown)
    return _result("wrong", "the answer (%s) does not name %s" % (source, _to_json(truth)), shown)


# Sets and lists

STOPWORDS = ["with", "which", "who", "whose", "that", "each", "both", "all", "respectively", "having", "where", "while",
             "for", "in", "on", "at", "of", "by", "since", "because", "as", "followed", "then", "than", "the", "a", "an",
             "these", "those", "this", "it", "they", "there", "here", "its", "their", "total", "overall", "note",
             "based", "according", "from", "to", "per", "ahead"]
VERBS = ["is", "are", "was", "were", "has", "have", "had", "exceed", "exceeds", "show", "shows", "lead", "leads", "rank",
         "ranks", "appear", "appears", "come", "comes"]
LEAD_INS = [" are ", " is ", " were ", " was ", " include ", " includes ", " including ", " namely ", ": "]


def _numeric_piece(head):
    nums = scan(head)
    return bool(nums) and nums[0].start == 0 and (nums[0].end == len(head) or not _isword(head[nums[0].end]))


def _lead_in_stripped(hay):
    head = " " + hay + " "
    for lead in LEAD_INS:
        p = head.rfind(lead)
        if p >= 0:
            head = " " + head[p + len(lead):]
    return head


def _extra(piece, numeric, structured):
    head = " " + plain(piece) + " "
    if not structured:
        head = _lead_in_stripped(plain(piece))
    for stop in (":", "(", " \u2014 ", " \u2013 ", " - ", " with ", " which "):
        p = head.find(stop)
        if p >= 0:
            head = head[:p]
    head = _trim_chars(head, lambda ch: ch in _WS or ch in (".", ",", ";", "!", "?", '"', "'"))
    words = [w for w in head.split(" ") if w]
    if not words:
        return None
    if not structured:
        if words[0] in STOPWORDS or words[0] in VERBS:
            return None
        for i in range(1, len(words)):
            if words[i] in STOPWORDS or words[i] in VERBS:
                words = words[:i]
                break
        if len(words) > 4:
            return None
        head = " ".join(words)
    if numeric and not scan(head):
        return None
    if not numeric and _numeric_piece(head):
        return None
    return head


def _expected(truth):
    out = []
    for rank, v in enumerate(truth):
        if isinstance(v, list):
            out.extend((t, rank) for t in v)
        else:
            out.append((v, rank))
    return out


def _named_in(spec, piece, exp, used):
    found = []
    hay = plain(piece)
    taken = [False] * len(hay)
    order = [i for i in range(len(exp)) if not _is_number(exp[i][0])]
    order.sort(key=lambda i: -len(plain(scalar_text(exp[i][0]))))
    for i in order:
        needle = plain(scalar_text(exp[i][0]))
        for p in phrase_positions(hay, needle):
            if any(taken[p:p + len(needle)]):
                continue
            same = None
            for j in range(len(exp)):
                if (not used[j] and not _is_number(exp[j][0])
                        and plain(scalar_text(exp[j][0])) == plain(scalar_text(exp[i][0]))):
                    same = j
                    break
            for q in range(p, p + len(needle)):
                taken[q] = True
            if same is not None:
                used[same] = True
                found.append((p, ("truth", same)))
            else:
                found.append((p, ("extra", scalar_text(exp[i][0]))))
    found.sort(key=lambda x: x[0])
    items = [it for _, it in found]
    if any(_is_number(e[0]) for e in exp):
        for w in scan(piece):
            hit = None
            for j in range(len(exp)):
                if not used[j] and _is_number(exp[j][0]) and matches(spec, w, float(exp[j][0])):
                    hit = j
                    break
            if hit is not None:
                used[hit] = True
                items.append(("truth", hit))
            elif any(_is_number(e[0]) and matches(spec, w, float(e[0])) for e in exp):
                items.append(("extra", piece[w.start:w.end]))
    return items


def _literal_items(lit):
    if isinstance(lit, list):
        return [lit_text(x) for x in lit]
    if isinstance(lit, _Map):
        for key in ANSWER_KEYS:
            v = lit.get(key)
            if isinstance(v, list):
                return _literal_items(v)
        if len(lit.entries) == 1 and isinstance(lit.entries[0][1], list):
            return _literal_items(lit.entries[0][1])
        if lit.entries and all(isinstance(v, Num) for _, v in lit.entries):
            return [k for k, _ in lit.entries]
    return None


def _best_column(spec, grids, exp):
    best = None
    for g in grids:
        for col in range(g.width()):
            cells = [r[col] if col < len(r) else "" for r in g.rows]
            used = [False] * len(exp)
            n = 0
            for cell in cells:
                n += sum(1 for it in _named_in(spec, cell, exp, used) if it[0] == "truth")
            if n > 0 and (best is None or n > best[0]):
                best = (n, cells)
    return None if best is None else best[1]


def _pieces(spec, answer, exp):
    keep = [e[0] for e in exp if isinstance(e[0], str)]
    m = markers(answer.prose)
    if m:
        return split_enumeration(m[-1][1], keep), "marker"
    for lit, _ in literals(answer, True):
        items = _literal_items(lit)
        if items is not None:
            return items, "literal"
    b = boxed(answer.prose)
    if b:
        return split_enumeration(b[-1], keep), "boxed"
    cells = _best_column(spec, markdown_tables(answer.raw), exp)
    if cells is not None:
        return cells, "table"
    items = [x for x in (list_item(line) for line in _lines(answer.prose)) if x is not None]
    if items:
        return items, "list"
    bold = [s for s, _ in bold_spans(answer.prose)]
    if len(bold) >= 2 or (len(bold) == 1 and len(exp) == 1):
        return bold, "bold"
    lines = answer_lines(answer.prose)
    if lines:
        return split_enumeration(lines[-1], keep), "answer line"
    sents = sentences(answer.prose, keep)
    best = None
    for s in sents:
        used = [False] * len(exp)
        n = sum(1 for it in _named_in(spec, s, exp, used) if it[0] == "truth")
        if n > 0 and (best is None or n > best[0]):
            best = (n, s)
    if best is not None:
        chosen = best[1]
    else:
        chosen = None
        for s in reversed(sents):
            if len(split_enumeration(s, keep)) > 1:
                chosen = s
                break
    if chosen is None:
        return [], "text"
    body = chosen
    p = body.find(":")
    # A colon with no space after it belongs to a value ("3:Lg", "10:30").
    if p >= 0 and (p + 1 == len(body) or body[p + 1].isspace()):
        used = [False] * len(exp)
        if not _named_in(spec, body[:p], exp, used):
            body = body[p + 1:]
    return split_enumeration(body, keep), "text"


def check_collection(spec, truth, answer):
    if not isinstance(truth, list):
        return _result("wrong", "the ground truth is not a list")
    exp = _expected(truth)
    numeric = all(_is_number(e[0]) for e in exp)
    pieces, source = _pieces(spec, answer, exp)
    structured = source not in ("text", "answer line")
    used = [False] * len(exp)
    items = []
    for p in pieces:
        named = _named_in(spec, p, exp, used)
        if not named:
            x = _extra(p, numeric, structured)
            if x is not None:
                items.append(("extra", x))
        else:
            items.extend(named)
    shown = " | ".join(scalar_text(exp[x][0]) if kind == "truth" else x for kind, x in items)
    if not items:
        return _result("unextractable", "no values can be read from the answer (%s)" % source)
    extras = [x for kind, x in items if kind == "extra"]
    if extras:
        return _result("wrong", "the answer (%s) names %s, not expected" % (source, ", ".join(json.dumps(x) for x in extras)), shown)
    missing = [_to_json(exp[j][0]) for j in range(len(exp)) if not used[j]]
    if missing:
        return _result("wrong", "the answer (%s) does not name %s" % (source, ", ".join(missing)), shown)
    if spec["answer_type"] == "list":
        ranks = [exp[x][1] for kind, x in items if kind == "truth"]
        for k in range(len(ranks) - 1):
            if ranks[k + 1] < ranks[k]:
                return _result("wrong", "the answer (%s) puts values out of order" % source, shown)
    return _result("pass", "the answer (%s) names every expected value" % source, shown)


# Tables


class Grid:
    __slots__ = ("header", "rows", "source")

    def __init__(self, header, rows, source):
        self.header = header
        self.rows = rows
        self.source = source

    def width(self):
        return max([len(self.header)] + [len(r) for r in self.rows])


def _cell_text(s):
    return _strip(_trim_chars(_strip(s), lambda ch: ch in ("*", "`")))


def _is_separator(line):
    t = _strip(line)
    return "|" in t and "-" in t and all(ch in ("|", "-", ":", " ", "\t") for ch in t)


def _split_row(line):
    t = _strip(line)
    if t.startswith("|"):
        t = t[1:]
    if t.endswith("|"):
        t = t[:-1]
    return [_cell_text(x) for x in t.split("|")]


def markdown_tables(text):
    lines = _lines(text)
    out = []
    i = 1
    while i < len(lines):
        if _is_separator(lines[i]) and "|" in lines[i - 1]:
            header = _split_row(lines[i - 1])
            rows = []
            k = i + 1
            while k < len(lines) and "|" in lines[k] and not _is_separator(lines[k]):
                rows.append(_split_row(lines[k]))
                k += 1
            out.append(Grid(header, rows, "markdown table"))
            i = k
            continue
        i += 1
    return out


def literal_grid(v):
    if isinstance(v, _Map):
        cols = v.get("columns")
        rows = v.get("rows")
        if rows is None:
            rows = v.get("data")
        if isinstance(cols, list) and isinstance(rows, list):
            out = []
            for r in rows:
                if not isinstance(r, list):
                    return None
                out.append([lit_text(x) for x in r])
            return Grid([lit_text(x) for x in cols], out, "literal")
        if not v.entries:
            return None
        if all(isinstance(x, list) for _, x in v.entries):
            cols = [x for _, x in v.entries]
            n = len(cols[0])
            if any(len(c) != n for c in cols):
                return None
            return Grid([k for k, _ in v.entries], [[lit_text(c[r]) for c in cols] for r in range(n)], "literal")
        if all(lit_is_scalar(x) for _, x in v.entries):
            return Grid([], [[k, lit_text(x)] for k, x in v.entries], "literal")
        return None
    if isinstance(v, list) and v:
        if isinstance(v[0], _Map):
            header = [k for k, _ in v[0].entries]
            rows = []
            for it in v:
                if not isinstance(it, _Map):
                    return None
                row = []
                for h in header:
                    x = it.get(h)
                    row.append("" if x is None else lit_text(x))
                rows.append(row)
            return Grid(header, rows, "literal")
        if all(isinstance(r, list) for r in v):
            return Grid([], [[lit_text(x) for x in r] for r in v], "literal")
    return None


def _csv_fields(line):
    out = []
    cur = []
    quoted = False
    i = 0
    while i < len(line):
        ch = line[i]
        if quoted:
            if ch == '"' and i + 1 < len(line) and line[i + 1] == '"':
                cur.append('"')
                i += 1
            elif ch == '"':
                quoted = False
            else:
                cur.append(ch)
        elif ch == '"':
            quoted = True
        elif ch == ",":
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    out.append("".join(cur))
    return [_strip(f) for f in out]


def csv_grid(body):
    lines = [ln for ln in _lines(body) if _strip(ln)]
    if len(lines) < 2:
        return None
    header = _csv_fields(lines[0])
    if len(header) < 2:
        return None
    rows = [_csv_fields(ln) for ln in lines[1:]]
    if all(len(r) == len(header) for r in rows):
        return Grid(header, rows, "csv")
    return None


def _aligned_fields(line):
    out = []
    cur = []
    c = _strip(line)
    i = 0
    while i < len(c):
        if c[i] == "\t" or (c[i] == " " and i + 1 < len(c) and c[i + 1] == " "):
            if cur:
                out.append("".join(cur))
                cur = []
            while i < len(c) and c[i] in (" ", "\t"):
                i += 1
            continue
        cur.append(c[i])
        i += 1
    if cur:
        out.append("".join(cur))
    return out


def printed_grid(body):
    lines = []
    for ln in _lines(body):
        t = _strip(ln)
        if not t or t.startswith("Name:") or t.startswith("dtype:") or (t.startswith("[") and t.endswith("columns]")):
            continue
        lines.append(_aligned_fields(ln))
    if len(lines) < 2:
        return None
    header = list(lines[0])
    rest = lines[1:]
    if len(rest) > 1 and len(rest[0]) == 1 and all(len(r) == len(header) + 1 for r in rest[1:]):
        header.insert(0, rest[0][0])
        return Grid(header, [list(r) for r in rest[1:]], "printed frame")
    if all(len(r) == len(header) + 1 for r in rest):
        return Grid(header, [r[1:] for r in rest], "printed frame")
    if all(len(r) == len(header) for r in rest) and len(header) >= 2:
        return Grid(header, [list(r) for r in rest], "printed frame")
    if all(len(r) == 2 for r in lines):
        return Grid([], [list(r) for r in lines], "printed series")
    return None


def _key_value_grid(text, numeric):
    rows = []
    for line in _lines(text):
        item = list_item(line)
        if item is None:
            item = _strip(line)
        item = "".join(ch for ch in item if ch not in ("*", "`"))
        for sep in (": ", " \u2014 ", " \u2013 ", " - ", " = ", " \u2192 ", " -> "):
            p = item.find(sep)
            if p >= 0:
                k, v = _strip(item[:p]), _strip(item[p + len(sep):])
                if k and v and (not numeric or scan(v)):
                    rows.append([k, v])
                break
    return Grid([], rows, "key-value lines") if rows else None


def _inline_pairs_grid(text, keep):
    """Pairs written in a line ("Biscoe 168, Dream 124, Torgersen 52"): the line naming the most
    of them, each piece's last number and the text before it (after a colon)."""
    best = None
    for line in _lines(text):
        rows = []
        for piece in split_enumeration(line, keep):
            nums = scan(piece)
            if not nums:
                continue
            w = nums[-1]
            key = piece[:w.start]
            p = key.rfind(":")
            if p >= 0 and _strip(key[p + 1:]):
                key = key[p + 1:]
            key = _trim_chars(key, lambda ch: ch in _WS or ch in (":", "=", "-", "\u2014", "\u2013", "*", "`"))
            if any(ch.isalnum() for ch in key):
                rows.append([key, piece[w.start:w.end]])
        if len(rows) >= 2 and (best is None or len(rows) > len(best)):
            best = rows
    return Grid([], best, "inline pairs") if best else None


def file_grid(path):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError):
        return None
    ext = os.path.splitext(path)[1][1:].lower()
    if ext == "json":
        v = parse_all(_strip(text))
        g = literal_grid(v) if v is not None else None
    else:
        g = csv_grid(text)
    if g is None:
        return None
    g.source = "data file"
    return g


def _named_files(answer, files):
    return [f for f in files if (f.lower().endswith(".csv") or f.lower().endswith(".json")) and f in answer.raw]


def _is_ellipsis_row(row):
    marks = ("\u2026", "...", "\u22ee")
    return any(_strip(c) in marks for c in row) and all(_strip(c) == "" or _strip(c) in marks for c in row)


def find_grid(answer, truth_width, numeric_second, keep, files, outputs_dir):
    for lit, _ in literals(answer, True):
        g = literal_grid(lit)
        if g is not None and g.rows:
            return g
    tables = [g for g in markdown_tables(answer.raw) if g.rows]
    if tables:
        best = tables[0]
        for g in tables[1:]:
            if len(g.rows) >= len(best.rows):
                best = g
        if not any(_is_ellipsis_row(r) for r in best.rows):
            return best
        # A table with a "…" row is a preview: the full table in a file the answer names wins.
        if outputs_dir is not None:
            for f in _named_files(answer, files):
                g = file_grid(os.path.join(outputs_dir, f))
                if g is not None:
                    return g
        return Grid(best.header, [r for r in best.rows if not _is_ellipsis_row(r)], "markdown table, shortened")
    for body in answer.data_fences():
        g = csv_grid(body) or printed_grid(body)
        if g is not None:
            return g
    if truth_width == 2:
        g = _key_value_grid(answer.prose, numeric_second)
        if g is not None and len(g.rows) >= 2:
            return g
        if numeric_second:
            g = _inline_pairs_grid(answer.statement(), keep)
            if g is not None:
                return g
    if outputs_dir is None:
        return None
    for f in _named_files(answer, files):
        g = file_grid(os.path.join(outputs_dir, f))
        if g is not None:
            return g
    return None


NULL_WORDS = ["", "nan", "none", "null", "missing", "n/a", "na", "-", "\u2014", "nat", "<na>", "\u2013"]


def cell_matches(spec, cell, truth):
    p = plain(cell)
    if truth is None:
        return p in NULL_WORDS
    if isinstance(truth, bool):
        return p in (("true", "yes", "1") if truth else ("false", "no", "0"))
    if _is_number(truth):
        nums = scan(cell)
        return bool(nums) and matches(spec, nums[0], float(truth))
    if isinstance(truth, str):
        if p == plain(truth):
            return True
        try:
            t = float(_strip(truth))
        except ValueError:
            return False
        if t != t or t in (float("inf"), float("-inf")) or not _rust_float_syntax(_strip(truth)):
            return False
        nums = scan(cell)
        return bool(nums) and matches(spec, nums[0], t)
    return p == plain(scalar_text(truth))


def _rust_float_syntax(s):
    """Whether Rust's f64 parser reads the text as Python's float() does (no `_`, no spaces,
    ASCII only)."""
    return s.isascii() and "_" not in s and not any(ch in _WS for ch in s)


def _index_like(g):
    name = key_form(g.header[0]) if g.header else ""
    if g.header and name in ("", "index", "#", "rank", "no", "no.", "row"):
        return True
    cells = []
    for r in g.rows:
        v = None
        if r:
            t = _strip(r[0])
            if _rust_float_syntax(t):
                try:
                    v = float(t)
                except ValueError:
                    v = None
        cells.append(v)
    if not cells:
        return False
    return all(c == i for i, c in enumerate(cells)) or all(c == i + 1 for i, c in enumerate(cells))


def _permutations(n):
    if n == 0:
        return [[]]
    out = []
    for first in range(n):
        for rest in _permutations(n - 1):
            out.append([first] + [x + 1 if x >= first else x for x in rest])
    return out


def _column_maps(spec, g, truth_cols):
    n = len(truth_cols)
    width = g.width()
    ordered = spec.get("ordered_columns")
    maps = []
    if not ordered and g.header:
        names = [key_form(h) for h in g.header]
        m = []
        for t in truth_cols:
            kt = key_form(t)
            if kt in names:
                m.append(names.index(kt))
            else:
                m = None
                break
        if m is not None:
            maps.append(m)
    if width == n:
        maps.append(list(range(n)))
    if width == n + 1 and _index_like(g):
        maps.append(list(range(1, n + 1)))
    if width == n and not ordered and 2 <= n <= 4:
        maps.extend(_permutations(n)[1:])
    if width == n + 1 and n <= 4 and len(g.rows) <= MAX_SEARCH_ROWS:
        maps.extend(_injections(n, width, ordered))
    seen = []
    out = []
    for m in maps:
        if m not in seen:
            seen.append(m)
            out.append(m)
    return out


MAX_SEARCH_ROWS = 200


def _injections(n, width, increasing):
    """Every way to pick n distinct columns of width in order (lexicographic)."""
    out = []

    def rec(prefix):
        if len(prefix) == n:
            out.append(list(prefix))
            return
        for x in range(width):
            if x in prefix or (increasing and prefix and x < prefix[-1]):
                continue
            rec(prefix + [x])

    rec([])
    return out


def _cell_keys(cell):
    keys = ["t:" + plain(cell)]
    nums = scan(cell)
    if nums:
        keys.append("n:%r" % float(nums[0].value))
    return keys


def _truth_key(v):
    if _is_number(v):
        return "n:%r" % float(v)
    if isinstance(v, str):
        return "t:" + plain(v)
    return None


def _rows_match(spec, g, truth_rows, cmap, memo):
    def eq(r, c, t, j):
        key = (r, c, t, j)
        if key not in memo:
            row = g.rows[r]
            memo[key] = cell_matches(spec, row[c] if c < len(row) else "", truth_rows[t][j])
        return memo[key]

    def row_eq(r, t):
        for j, c in enumerate(cmap):
            if j >= len(truth_rows[t]):
                break
            if not eq(r, c, t, j):
                return False
        return True

    if spec.get("ordered_rows"):
        for r in range(min(len(g.rows), len(truth_rows))):
            if not row_eq(r, r):
                return "row %d differs" % (r + 1)
        return None
    # First the rows that state a truth row without the tolerance, found through an index of
    # the first mapped column; then the rest within the tolerance, first fit.
    strict = dict(spec)
    strict["tolerance"] = 0.0
    strict["abs_tolerance"] = 0.0
    strict_memo = {}

    def strict_eq(r, t):
        for j, c in enumerate(cmap):
            if j >= len(truth_rows[t]):
                break
            key = (r, c, t, j)
            if key not in strict_memo:
                row = g.rows[r]
                strict_memo[key] = cell_matches(strict, row[c] if c < len(row) else "", truth_rows[t][j])
            if not strict_memo[key]:
                return False
        return True

    index = {}
    if cmap:
        c0 = cmap[0]
        for r, row in enumerate(g.rows):
            for k in _cell_keys(row[c0] if c0 < len(row) else ""):
                index.setdefault(k, []).append(r)
    used = [False] * len(g.rows)
    matched = [False] * len(truth_rows)
    for t in range(len(truth_rows)):
        k = _truth_key(truth_rows[t][0]) if truth_rows[t] else None
        for r in index.get(k, ()) if k is not None else ():
            if not used[r] and strict_eq(r, t):
                used[r] = True
                matched[t] = True
                break
    for t in range(len(truth_rows)):
        if matched[t]:
            continue
        hit = None
        for r in range(len(g.rows)):
            if not used[r] and row_eq(r, t):
                hit = r
                break
        if hit is None:
            return "no row of the answer matches %s" % _to_json(truth_rows[t])
        used[hit] = True
    return None


def truth_table(truth):
    if not isinstance(truth, dict):
        return None
    cols = truth.get("columns")
    rows = truth.get("rows")
    if not isinstance(cols, list) or not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        return None
    return [scalar_text(c) for c in cols], rows


def compare(spec, g, truth):
    tt = truth_table(truth)
    if tt is None:
        return _result("wrong", "the ground truth is not a table (columns and rows)")
    cols, rows = tt
    shown = "%d rows x %d columns (%s)" % (len(g.rows), g.width(), g.source)
    g = Grid(g.header, [r for r in g.rows if any(_strip(x) for x in r)], g.source)
    if len(g.rows) != len(rows):
        return _result("wrong", "expected %d rows, the answer's table (%s) has %d" % (len(rows), g.source, len(g.rows)), shown)
    maps = _column_maps(spec, g, cols)
    if not maps:
        return _result("wrong", "expected %d columns, the answer's table (%s) has %d" % (len(cols), g.source, g.width()), shown)
    first_err = None
    memo = {}
    for m in maps:
        err = _rows_match(spec, g, rows, m, memo)
        if err is None:
            return _result("pass", "every row matches (%s)" % g.source, shown)
        if first_err is None:
            first_err = err
    return _result("wrong", first_err, shown)


def one_row_facts(spec, cols, rows, answer):
    if len(rows) != 1:
        return None
    facts = dict(zip(cols, rows[0]))
    r = check_facts(spec, facts, answer.prose)
    return None if r["outcome"] == "unextractable" else r


def check_table(spec, truth, answer, files, outputs_dir):
    tt = truth_table(truth)
    if tt is None:
        return _result("wrong", "the ground truth is not a table (columns and rows)")
    cols, rows = tt
    numeric_second = all(len(r) > 1 and _is_number(r[1]) for r in rows)
    keep = [r[0] for r in rows if r and isinstance(r[0], str)]
    g = find_grid(answer, len(cols), numeric_second, keep, files, outputs_dir)
    if g is not None:
        return compare(spec, g, truth)
    r = one_row_facts(spec, cols, rows, answer)
    if r is not None:
        return r
    return _result("unextractable", "no table can be read from the answer (markdown, JSON, CSV or a printed frame)")


# Files


def written(files, want):
    for f in files:
        if f == want or f.endswith("/" + want):
            return f
    return None


def not_an_image(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return "cannot read %s: %s" % (path, e)
    if not data:
        return "%s is empty" % path
    ext = os.path.splitext(path)[1][1:].lower()
    head = data[:1024]
    ok = {
        "png": head.startswith(b"\x89PNG\r\n\x1a\n"),
        "jpg": head.startswith(b"\xff\xd8\xff"),
        "jpeg": head.startswith(b"\xff\xd8\xff"),
        "gif": head.startswith(b"GIF8"),
        "pdf": head.startswith(b"%PDF"),
        "svg": b"<svg" in head,
    }.get(ext, True)
    return None if ok else "%s is not a %s file" % (path, ext.upper())


def _sidecar(files, chart, outputs_dir):
    stem = chart.rsplit(".", 1)[0] if "." in chart else chart
    for ext in ("csv", "json"):
        name = stem + "." + ext
        if name in files:
            g = file_grid(os.path.join(outputs_dir, name))
            if g is not None:
                return g
    return None


def check_file(spec, truth, answer, files, outputs_dir):
    want = spec.get("file")
    if not want:
        return _result("wrong", "the checker names no file")
    chart = written(files, want)
    if chart is None:
        return _result("wrong", "the file outputs/%s was not written" % want)
    if outputs_dir is not None:
        why = not_an_image(os.path.join(outputs_dir, chart))
        if why is not None:
            return _result("wrong", why)
    tt = truth_table(truth)
    if tt is None:
        return _result("wrong", "the ground truth is not a table (columns and rows)")
    cols, rows = tt
    numeric_second = all(len(r) > 1 and _is_number(r[1]) for r in rows)
    keep = [r[0] for r in rows if r and isinstance(r[0], str)]
    g = find_grid(answer, len(cols), numeric_second, keep, files, outputs_dir)
    if g is None and outputs_dir is not None:
        g = _sidecar(files, chart, outputs_dir)
    if g is not None:
        return compare(spec, g, truth)
    r = one_row_facts(spec, cols, rows, answer)
    if r is not None:
        return r
    return _result("unextractable", "outputs/%s was written, but the answer shows none of the data it plots" % want)


# Reports

CHECKLIST = "checklist"


def _stated_values(spec, facts, written):
    values = []
    for _, v in facts:
        if _is_number(v) and float(v) not in values:
            values.append(float(v))
    candidates = [[w for w in range(len(written)) if matches(spec, written[w], f)] for f in values]
    owner = [None] * len(written)

    def augment(v, seen):
        for w in candidates[v]:
            if seen[w]:
                continue
            seen[w] = True
            if owner[w] is None or augment(owner[w], seen):
                owner[w] = v
                return True
        return False

    for v in range(len(values)):
        augment(v, [False] * len(written))
    return [values[v] for v in owner if v is not None]


def check_facts(spec, truth, text):
    if not isinstance(truth, dict):
        return _result("wrong", "the ground truth has no facts")
    facts = [(k, v) for k, v in sorted(truth.items()) if k != CHECKLIST]
    if all(not ch.isalnum() for ch in plain(text)):
        return _result("unextractable", "the report is empty")
    if not facts:
        return _result("pass", "no facts to check (the checklist is for the inspector)")
    nums = scan(text)
    if not nums and any(_is_number(v) for _, v in facts):
        return _result("unextractable", "the report states no numbers")
    stated = _stated_values(spec, facts, nums)
    missing = []
    for name, fact in facts:
        if _is_number(fact):
            ok = float(fact) in stated
        else:
            ok = contains_phrase(text, scalar_text(fact))
        if not ok:
            missing.append("%s = %s" % (name, _to_json(fact)))
    shown = "%d of %d facts stated" % (len(facts) - len(missing), len(facts))
    if not missing:
        return _result("pass", "the report states all %d facts" % len(facts), shown)
    return _result("wrong", "the report does not state: " + "; ".join(missing), shown)


# ---------------------------------------------------------------------------------------------
# The checker spec

ANSWER_TYPES = ["number", "integer", "string", "set", "list", "table", "file", "report", "metric"]


def resolve_spec(answer_type, checker):
    """The checker spec for an answer type: a whole spec (as tasks.parquet stores it) or a
    template's [checker] options (kebab-case or snake_case keys), or None for the defaults."""
    if answer_type not in ANSWER_TYPES:
        raise ValueError("unknown answer type %r" % answer_type)
    if isinstance(checker, str):
        # The `checker` column of tasks.parquet is JSON text.
        checker = json.loads(checker) if checker.strip() else None
    checker = checker or {}
    if "answer_type" in checker:
        spec = dict(checker)
        if spec["answer_type"] != answer_type:
            raise ValueError("the checker is for answer type %s, not %s" % (spec["answer_type"], answer_type))
        spec.setdefault("ordered_rows", False)
        spec.setdefault("ordered_columns", False)
        return spec
    o = {k.replace("-", "_"): v for k, v in checker.items()}
    default_tol = 1e-2 if answer_type in ("report", "table", "file") else 1e-6
    tolerance = o.get("tolerance")
    tolerance = default_tol if tolerance is None else float(tolerance)
    abs_tolerance = o.get("abs_tolerance")
    abs_tolerance = 1e-9 if abs_tolerance is None else float(abs_tolerance)
    d = o.get("decimals")
    if d is not None:
        abs_tolerance = max(abs_tolerance, 0.5 * 10.0 ** -int(d) + 1e-12)
        tolerance = max(tolerance, 1e-9)
    return {
        "answer_type": answer_type,
        "tolerance": tolerance,
        "abs_tolerance": abs_tolerance,
        "file": o.get("file"),
        "higher_is_better": o.get("higher_is_better"),
        "metric": o.get("metric"),
        "ordered_rows": bool(o.get("ordered_rows") or False),
        "ordered_columns": bool(o.get("ordered_columns") or False),
    }


def check_answer(spec, truth, answer_text, files=(), outputs_dir=None):
    """Checks the text of a final <Answer> block: {"outcome", "reason", "extracted"}."""
    files = list(files)
    answer = Answer(answer_text)
    t = spec["answer_type"]
    if t in ("number", "integer"):
        return check_number(spec, truth, answer)
    if t == "metric":
        return check_metric(spec, truth, answer)
    if t == "string":
        return check_string(truth, answer)
    if t in ("set", "list"):
        return check_collection(spec, truth, answer)
    if t == "table":
        return check_table(spec, truth, answer, files, outputs_dir)
    if t == "file":
        return check_file(spec, truth, answer, files, outputs_dir)
    return check_facts(spec, truth, answer_text)


# ---------------------------------------------------------------------------------------------
# DeepAnalyze's format and verl's entry point

_TAG = re.compile(r"</?(Analyze|Understand|Code|Execute|Answer)>")
_CODE = re.compile(r"<Code>(.*?)</Code>", re.S)
_ANSWER = re.compile(r"<Answer>(.*?)</Answer>", re.S)


def format_error(completion):
    """Why a completion fails DeepAnalyze's format check, or None: it needs an
    <Analyze>…</Analyze> pair, exactly one <Answer>…</Answer> with no tags inside, and every
    <Code> block must be a python fence."""
    if "<Analyze>" not in completion or "</Analyze>" not in completion:
        return "no <Analyze>…</Analyze> pair"
    answers = _ANSWER.findall(completion)
    if completion.count("<Answer>") != 1 or completion.count("</Answer>") != 1 or len(answers) != 1:
        return "not exactly one <Answer>…</Answer> pair"
    if _TAG.search(answers[0]):
        return "a tag inside <Answer>"
    for code in _CODE.findall(completion):
        body = code.strip()
        if not (body.startswith("```python") and body.endswith("```")):
            return "a <Code> block that is not a ```python fence"
    return None


def answer_text(completion):
    """The text of the last <Answer>…</Answer> of a completion (None when there is none)."""
    found = _ANSWER.findall(completion)
    return _strip(found[-1]) if found else None


_OUTPUT_NAME = re.compile(r"outputs/([A-Za-z0-9_.\-/]+\.[A-Za-z0-9]+)")


def _files_written_by_code(completion):
    names = []
    for code in _CODE.findall(completion):
        for name in _OUTPUT_NAME.findall(code):
            if name not in names:
                names.append(name)
    return names


def compute_score(data_source, solution_str, ground_truth, extra_info=None):
    """verl's custom reward: 1.0 pass, 0.0 wrong or unextractable, -1.0 format failure."""
    gt = json.loads(ground_truth) if isinstance(ground_truth, str) else ground_truth
    spec = resolve_spec(gt["answer_type"], gt.get("checker"))
    why = format_error(solution_str)
    if why is not None:
        return {"score": -1.0, "outcome": "format", "reason": why, "extracted": None}
    text = answer_text(solution_str)
    extra_info = extra_info or {}
    files = extra_info.get("files")
    if files is None:
        files = _files_written_by_code(solution_str)
    result = check_answer(spec, gt["truth"], text, files, extra_info.get("outputs_dir"))
    result["score"] = 1.0 if result["outcome"] == "pass" else 0.0
    return result


if __name__ == "__main__":
    # Scores JSON Lines cases from standard input (the input form of `dasynth check`) the way a
    # trainer would: each answer inside a minimal DeepAnalyze completion, the truth and the
    # checker in the ground_truth layout above, files in extra_info. One result per line:
    # {"line", "id", "score", "outcome", "reason", "extracted"}.
    import sys

    for n, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        case = json.loads(line)
        completion = "<Analyze>\nThe result is ready.\n</Analyze>\n<Answer>\n%s\n</Answer>" % case["answer"]
        ground_truth = json.dumps({"answer_type": case["answer_type"], "truth": case["truth"],
                                   "checker": case.get("checker") or {}})
        extra_info = {"files": case.get("files") or [], "outputs_dir": case.get("outputs_dir")}
        result = compute_score("dasynth", completion, ground_truth, extra_info)
        result["line"] = n
        if "id" in case:
            result["id"] = case["id"]
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
