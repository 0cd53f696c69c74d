"""Who is who in a signed document: the kommun, the lokalpolisområde and the responsible units.

* ``find_kommun(text)``: the kommun the promise is for, from "Åstorps kommun",
  "Hagfors kommun", "Malmö stad", "kommunen i Sala", or the title; a name the document
  misspells ("Örskelljunga kommun") is matched to the closest real kommun.
* ``find_police_area(text)``: "Lokalpolisområde Klippan", "Lpo Torsby" → "Klippan".
* ``unit_of(name)``: a party's name as documents write it ("Polisen",
  "Kommunförvaltningen", "Skola", "Socialtjänstens fältgrupp", "Örkelljunga kommun")
  → the key of the unit in the draft (``polisen``, ``kommunen``, ``skolan``,
  ``socialtjänsten``, ``fältgruppen``, ``räddningstjänsten``, ``fritid``), or None.
* ``UNITS``: per key, the unit's default name and the unit it is part of.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from rules.sv_lexicon import fold
from scheduler.import_kommuner import KOMMUNER, kommun_name

__all__ = ["UNITS", "KommunMatch", "UnitKind", "find_kommun", "find_police_area", "mentioned_units", "unit_of"]


@dataclass(frozen=True, slots=True)
class UnitKind:
    key: str
    #: the unit's name in the draft, from the kommun and the lokalpolisområde
    name: Callable[[str, str | None], str]
    part_of: str | None = None


UNITS: dict[str, UnitKind] = {
    u.key: u
    for u in (
        UnitKind("polisen", lambda _k, lpo: f"Lokalpolisområde {lpo}" if lpo else "Polisen"),
        UnitKind("kommunen", lambda k, _lpo: kommun_name(k)),
        UnitKind("skolan", lambda k, _lpo: f"Skolorna i {kommun_name(k)}", "kommunen"),
        UnitKind("socialtjänsten", lambda k, _lpo: f"Socialtjänsten i {k}", "kommunen"),
        UnitKind("fältgruppen", lambda k, _lpo: f"Fältgruppen i {k}", "kommunen"),
        UnitKind("fritid", lambda k, _lpo: f"Fritidsverksamheten i {k}", "kommunen"),
        UnitKind("räddningstjänsten", lambda k, _lpo: f"Räddningstjänsten i {k}"),
    )
}

# Folded word → unit key. Checked on the head (last word) of a name first, then on its first word.
_WORD_UNITS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), key)
    for pattern, key in (
        (r"(?:\w+-)?falt(?:grupp|assistent|arbetare|sekreterare|verksamhet)\w*", "fältgruppen"),
        (r"raddningstjanst\w*", "räddningstjänsten"),
        (
            r"(?:\w*socialtjanst|socialforvaltning|socialsekreterare|individ-?\s?och\s?familjeomsorg)\w*",
            "socialtjänsten",
        ),
        (r"ifo", "socialtjänsten"),
        (r"(?:fritidsgard(?:ar)?(?:na)?|fritidsforvaltning\w*|fritidsledar\w*|fritid)", "fritid"),
        (
            r"(?:skola|skolan|skolor|skolorna|skolans|skolornas|skolledning\w*|utbildningsforvaltning\w*|"
            r"elevhals\w*|skolskoterska\w*|kurator\w*)",
            "skolan",
        ),
        (r"(?:\w*polis(?:en|ens|ar|erna|omrade\w*|iar\w*|ar\w*)?|lpo|kommunpolis\w*|narpolis\w*)", "polisen"),
        (
            r"(?:kommun|kommunen|kommunens|kommunforvaltning\w*|kommunstyrelse\w*|kommunledning\w*|"
            r"kommunfullmaktige|forvaltning(?:en|ar|arna)?|tekniska|samhallsbyggnad\w*)",
            "kommunen",
        ),
    )
)


def _word_unit(folded_word: str) -> str | None:
    word = folded_word.strip(".,:;()*/ ")
    for rx, key in _WORD_UNITS:
        if rx.fullmatch(word):
            return key
    return None


def unit_of(name: str) -> str | None:
    """The unit key for a party name, or None when it is no unit of a promise.

    >>> [unit_of(n) for n in ("Polisen", "Lokalpolisområde Klippan", "Skola", "Kommunförvaltningen",
    ...                       "Socialtjänstens fältgrupp", "Örkelljunga kommun", "Trygghetsrådet")]
    ['polisen', 'polisen', 'skolan', 'kommunen', 'fältgruppen', 'kommunen', None]
    """
    words = fold(name.replace("*", " ")).split()
    if not words:
        return None
    if words[0] in ("lokalpolisomrade", "lokalpolisomradet", "lpo", "polisomrade", "polisregion"):
        return "polisen"
    return _word_unit(words[-1]) or (_word_unit(words[0]) if len(words) > 1 else None)


_LIST_SPLIT = re.compile(r"\s*(?:,|\boch\b|\bsamt\b|&|\+)\s*")


def units_in_list(text: str) -> list[str] | None:
    """Unit keys of a list of parties ("Kommunen och polisen."), or None when one item is no unit."""
    items = [i for i in _LIST_SPLIT.split(text.strip(" .:;*")) if i.strip(" *")]
    if not items or len(items) > 5:
        return None
    keys = [unit_of(i) for i in items]
    if any(k is None for k in keys):
        return None
    return list(dict.fromkeys(k for k in keys if k))


# "samverkan med polisen", "i samverkan med skolorna", "mellan skolan, socialtjänsten och polisen"
_TRIGGER = re.compile(r"\b(?:samverka[n]?|samarbet[ae]|tillsammans|narvaro)\s+med\s+|\bmellan\s+", re.IGNORECASE)
_STOP = frozenset({"i", "for", "om", "pa", "att", "som", "kring", "inom", "vid", "under", "mot", "nar", "da", "runt"})


def mentioned_units(text: str) -> list[str]:
    """Units named as partners: after "samverkan med", "tillsammans med", "mellan" and the like.

    >>> mentioned_units("Regelbunden kontakt mellan skolan, socialtjänsten och polisen (SSP-möten)")
    ['skolan', 'socialtjänsten', 'polisen']
    """
    folded = fold(text)
    out: list[str] = []
    for m in _TRIGGER.finditer(folded):
        for word in re.findall(r"[\w-]+|[^\w\s]", folded[m.end() : m.end() + 120])[:12]:
            if word in (",", "och", "samt", "&", "de", "den", "det", "olika", "kommunens", "lokala"):
                continue
            if not word[0].isalnum() or word in _STOP:
                break
            key = _word_unit(word)
            if key:
                out.append(key)
    return list(dict.fromkeys(out))


# -- the kommun ------------------------------------------------------------------------------------
_FOLDED_KOMMUNER = {fold(name): name for name in KOMMUNER}
_NAME = r"[A-ZÅÄÖÉ][\w-]*"
_KOMMUN_RX = re.compile(rf"((?:{_NAME} ){{0,2}}{_NAME}) (?:kommuns?|stads?)\b")
_KOMMUN_AFTER_RX = re.compile(rf"\b(?:[Kk]ommunen|[Ss]taden|[Rr]egion) i ({_NAME}(?: {_NAME})?)")
_POLICE_LEAD = re.compile(r"(?:lokalpolisomr[aå]de[t]?|lpo|polisomr[aå]de[t]?)\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class KommunMatch:
    """The kommun found: its name as in ``KOMMUNER``, and how the document spells it."""

    name: str
    written: str
    #: how many times the document names it as a kommun
    count: int


def _lookup(words: list[str]) -> tuple[str, str] | None:
    """(kommun, as written) for the longest tail of ``words`` that names a kommun, genitive or not."""
    for n in range(len(words), 0, -1):
        written = " ".join(words[-n:])
        folded = fold(written)
        for candidate in (folded, folded[:-1] if folded.endswith("s") else None):
            if candidate and candidate in _FOLDED_KOMMUNER:
                return _FOLDED_KOMMUNER[candidate], written
    return None


def _close(words: list[str]) -> tuple[str, str] | None:
    """A misspelled kommun: the closest real name, when it is very close."""
    written = words[-1]
    folded = fold(written)
    for candidate in (folded, folded[:-1] if folded.endswith("s") else None):
        if not candidate or len(candidate) < 5:
            continue
        close = difflib.get_close_matches(candidate, list(_FOLDED_KOMMUNER), n=1, cutoff=0.85)
        if close:
            return _FOLDED_KOMMUNER[close[0]], written
    return None


def find_kommun(text: str) -> KommunMatch | None:
    """The kommun the document is about: the one it names most often as "X kommun"."""
    exact: Counter[str] = Counter()
    fuzzy: Counter[str] = Counter()
    spelled: dict[str, str] = {}
    first_seen: dict[str, int] = {}
    hits = [(m.start(), m.group(1)) for m in _KOMMUN_RX.finditer(text)]
    hits += [(m.start(), m.group(1)) for m in _KOMMUN_AFTER_RX.finditer(text)]
    for pos, group in sorted(hits):
        if _POLICE_LEAD.search(text[max(0, pos - 20) : pos]):
            continue  # "Lokalpolisområde Klippan kommun..." is no kommun of the promise
        words = group.split()
        found = _lookup(words)
        counter = exact
        if found is None:
            found = _close(words)
            counter = fuzzy
        if found is None:
            continue
        name, written = found
        counter[name] += 1
        first_seen.setdefault(name, pos)
        if counter is exact or name not in spelled:
            spelled[name] = written
    pool = exact or fuzzy
    if not pool:
        return _from_title(text)
    name = max(pool, key=lambda k: (pool[k] + exact[k], -first_seen[k]))
    written = spelled[name]
    return KommunMatch(name=name, written=written, count=pool[name])


def _from_title(text: str) -> KommunMatch | None:
    """No "X kommun" anywhere: a kommun named in the first lines ("Åstorp – medborgarlöften")."""
    head = "\n".join(line for line in text.split("\n")[:8] if line.strip())
    for m in re.finditer(rf"{_NAME}(?:[ -]{_NAME})?", head):
        if _POLICE_LEAD.search(head[max(0, m.start() - 20) : m.start()]):
            continue
        found = _lookup(m.group(0).split())
        if found:
            return KommunMatch(name=found[0], written=found[1], count=0)
    return None


_POLICE_RX = re.compile(rf"\b(?:[Ll]okalpolisområde[t]?|LPO|Lpo|lpo)\s+({_NAME}(?:[ -]{_NAME})?)")


def find_police_area(text: str) -> str | None:
    """The lokalpolisområde's name ("Klippan" for "Lokalpolisområde Klippan", "Lpo Torsby")."""
    names: Counter[str] = Counter()
    for m in _POLICE_RX.finditer(text):
        name = m.group(1)
        # "Lpo Ängelholm Christian" is not a name: keep the second word only when it is a kommun's
        parts = name.replace("-", " ").split()
        if len(parts) > 1 and fold(" ".join(parts)) not in _FOLDED_KOMMUNER:
            name = parts[0]
        if fold(name) in ("kommer", "och", "ska", "har"):
            continue
        names[name] += 1
    if not names:
        return None
    return names.most_common(1)[0][0]
