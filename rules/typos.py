"""Correct small misspellings of the words the parser depends on.

A folded token of five letters or more that is one edit (a deletion, an insertion,
a substitution or a swap of neighbours) away from a keyword is read as that
keyword, the way a reader does ("gånnger", "terminn", "manadsvis"). A correction
never changes the text's length (a word with one letter too many becomes the
keyword and a space), so positions in the text stay valid. The index is a symmetric-deletion one
(SymSpell): a look-up costs a handful of dictionary probes.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rules.sv_lexicon import WordMemo

__all__ = ["KEYWORDS", "correct_typos"]

KEYWORDS = frozenset(
    """
    ganger gangen minst hogst cirka ungefar manad manaden manader manadsvis manatligen vecka veckan veckor
    veckovis termin terminen terminer terminsvis lasaret kvartal kvartalet kvartalsvis tertial tertialet
    tertialvis halvaret halvarsvis arligen dagligen varannan vartannat tillfalle tillfallen regelbundet
    regelbundna regelbunden kontinuerligt lopande respektive senast januari februari april augusti
    september oktober november december tredje fjarde femte sjatte sjunde tionde tolfte fyrtio femtio
    sextio sjuttio nittio tretton fjorton femton sexton sjutton nitton trettio tjugo
    """.split()
)
#: real words one edit from a keyword; never "corrected".
PROTECTED = frozenset(
    """
    minsta hogsta manar manad veckans terminal termins gangar gangen ganget ganger tillfallet tillfallig
    tillfalligt tillfalliga vecklar senaste senare tredjes fjardedel femtedel regelbundna regelbundet
    kvartals manads arliga arligt dagliga dagligt aprils tjugos
    """.split()
)


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


@lru_cache(maxsize=1)
def _index() -> dict[str, str]:
    """Every keyword and every one-letter deletion of one -> the keyword it comes from; where
    two keywords share a deletion, the first in sorted order (not in set order, which
    changes with the hash seed: the same text must always parse the same)."""
    index: dict[str, str] = {}
    for kw in sorted(KEYWORDS):
        index.setdefault(kw, kw)
        for d in _deletes(kw):
            index.setdefault(d, kw)
    return index


_WORD = re.compile(r"[a-z]{5,}")
#: `bytes.translate` table: every byte but a-z to a space (one C loop, where `_WORD` runs the
#: regex engine at every character)
_NOT_LETTERS = bytes(c if 97 <= c <= 122 else 32 for c in range(256))


def _correct_word(word: str) -> str:
    if word in KEYWORDS or word in PROTECTED:
        return word
    index = _index()
    candidates = {index[d] for d in (_deletes(word) | {word}) if d in index}
    same_length = [c for c in candidates if len(c) == len(word) and _one_edit(c, word)]
    if len(same_length) == 1:
        return same_length[0]
    # one letter too many ("gannger"): the keyword padded with a space keeps positions valid
    longer = [c for c in candidates if len(c) == len(word) - 1]
    return longer[0] + " " if len(longer) == 1 else word


#: `_correct_word` of each word seen (a hit is one C-level dict look-up)
_CORRECTED = WordMemo(_correct_word, 8192)


def _piece_read(piece: str) -> str | None:
    """How `correct_typos` reads one piece: itself when it is short, None when it holds a digit
    or "_" (its runs of letters are read instead), else its correction."""
    if len(piece) <= 4:
        return piece
    return _correct_word(piece) if piece.isalpha() else None


#: `_piece_read` of each piece seen
_PIECE_READ = WordMemo(_piece_read, 8192)


def _one_edit(a: str, b: str) -> bool:
    """True when equal-length a and b differ by one substitution or one swap of neighbours."""
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    if len(diff) == 1:
        return True
    return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]


def correct_typos(folded: str, pieces: list[str] | None = None) -> str:
    """Replace misspelt keywords in folded text by the keyword, keeping the length.

    `pieces`, when given, are the runs of ASCII word characters of an ASCII `folded` (with
    empty strings between them): the parser has them already.

    >>> correct_typos("tva gagner per temrin")
    'tva ganger per termin'
    >>> correct_typos("minnst en gang")
    'minst  en gang'
    """
    if pieces is not None:
        # the common case, all in C: every piece reads as itself (short ones are never read;
        # one with a digit or "_" gives None and takes the full way below)
        if list(map(_PIECE_READ.__getitem__, pieces)) == pieces:
            return folded
        words = [w for w in pieces if len(w) > 4]
        if words and not "".join(words).isalpha():  # rare: a digit or "_" in a word
            words = _WORD.findall(" ".join(words))
    elif folded.isascii():  # the runs of letters are the pieces left when every other byte is a space
        words = [w for w in folded.encode().translate(_NOT_LETTERS).decode().split() if len(w) > 4]
    else:
        words = list(set(_WORD.findall(folded)))
    corrected = list(map(_CORRECTED.__getitem__, words))
    if corrected == words:  # the common case: nothing to correct
        return folded
    fixes = {w: c for w, c in zip(words, corrected, strict=True) if c != w}
    return _WORD.sub(lambda m: fixes.get(m.group(0), m.group(0)), folded)
