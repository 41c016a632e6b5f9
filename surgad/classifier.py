"""Decide which city unit must act on a citizen's SMS, or that none should.

A weighted word matcher driven by the unit file (``config/units-kediri.toml``);
this module holds no vocabulary of its own. Each SMS is

1. normalised: only the *Isi* of the Surga ``NIK#Nama#Isi`` format (read by
   ``surgad.identity``, labels such as "NIK:" and "Nama" included), lower case,
   letter runs shortened, numbers as ``num``, "retak2" as "retak retak", slang
   and Javanese respelled, affixes stripped when the base is a listed word;
2. masked: kelurahan names, landmarks with the "depan"-like word before them
   and numbered addresses ("rt 3") are taken out, so places are never topics
   and the words on either side of a place read as neighbours;
3. scored: phrases matched left to right, longest first, each once; "a + b"
   rules when all their words occur; one score per unit and per NOT-for-a-unit
   category (spam, referral, status ...);
4. decided: spam, referrals and places outside the city win when they beat
   every unit; chatter, status questions and thanks win when no unit word is
   strong enough; otherwise the top unit wins.

Confidence of a winner scoring ``s1`` over a runner-up ``s2`` is::

    (s1 - s2) / s1  *  s1 / (s1 + saturation)

the share of the winning score the runner-up does not match, damped for small
scores: with the default saturation of 2.5 one strong word alone (3 points)
gives 0.55, one plain keyword 0.29, a tie 0. NOT-for-a-unit decisions compare
the deciding category score with the best unit score the same way.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Final, NamedTuple

from surgad import errors, identity, numerals

COMPLAINT: Final = "complaint"
NOT_COMPLAINT: Final = "not_complaint"
REFERRAL: Final = "referral"
STATUS_QUERY: Final = "status_query"

# NOT-for-a-unit categories with a rule of their own (see _not_for_a_unit);
# any other category is chatter that wins only when no unit word is strong.
SPAM: Final = "spam"
OUTSIDE: Final = "outside"
REFERRAL_CATEGORY: Final = "referral"
OPERATOR: Final = "operator"
THANKS: Final = "thanks"
STATUS: Final = "status"
_RULED: Final = frozenset({SPAM, OUTSIDE, REFERRAL_CATEGORY, OPERATOR, THANKS})
OPEN_ISSUE: Final = "open_issue"
TIERS: Final = ("strong", "keywords", "weak")

NUMBER: Final = "num"
_MASK: Final = "_"
_COMBO: Final = "+"
# The marker word that makes a following name a kecamatan, not a kelurahan.
_KECAMATAN: Final = "kecamatan"
_CACHE_LIMIT: Final = 50_000

_LETTER_RUN: Final = re.compile(r"([a-z])\1{2,}")
_DOUBLE_LETTER: Final = re.compile(r"([a-z])\1")
_VOWELS: Final = re.compile(r"[aeiou]")
_MIN_SKELETON_WORD: Final = 4
_WORD: Final = re.compile(r"[a-z0-9]+")
_PIECE: Final = re.compile(r"[a-z]+|[0-9]+")
_REDUPLICATED: Final = re.compile(r"([a-z]{2,})2")

# Indonesian and Javanese affixes, tried least stripping first when a word is
# not listed as written. A nasal prefix may have replaced the first letter of
# the base (menyapu <- sapu, motong <- potong), so that letter is restored.
_PREFIXES: Final = (
    "",
    *"di d ke k se ter ber be me mem men meng meny".split(),
    *"nge ng ny m n pe pem pen peng per dipun tak".split(),
)
_SUFFIXES: Final = ("", *"nya ne e ku mu kan ke an i in ipun lah pun na".split())
_NASAL_BASE: Final = dict(
    pair.split(":")
    for pair in "meny:s ny:s mem:p m:p pem:p men:t n:t pen:t meng:k ng:k peng:k".split()
)
# "got" + "e" = "gote": a possessive ending may leave a three-letter base; any
# other strip must leave four letters, so "beli" does not become "bel".
_POSSESSIVES: Final = frozenset({"nya", "ne", "e", "ku", "mu"})
_MIN_BASE: Final = 3
_AFFIX_PAIRS: Final = sorted(
    ((prefix, suffix) for prefix in _PREFIXES for suffix in _SUFFIXES),
    key=lambda pair: len(pair[0]) + len(pair[1]),
)

Hit = tuple[int, float]
Words = Sequence[str] | Mapping[str, Sequence[str]]


class LexiconError(errors.SurgadError, ValueError):
    """The unit file's word lists cannot be compiled.

    ``key`` is the dotted key of the unit file that holds the bad value, so
    that loading the config can name the file, the key and the problem.
    """

    exit_code = errors.ExitCode.CONFIG

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


class Classification(NamedTuple):
    """The routing decision for one SMS.

    ``code`` is None when no unit must act: for chatter, spam, status queries
    and referrals, and for a complaint no unit word matched (kind
    ``complaint``), which ``Classifier.route`` sends to the triage unit.
    """

    code: str | None
    confidence: float
    kind: str
    kelurahan: str | None
    scores: dict[str, float]


@dataclasses.dataclass(frozen=True)
class Scoring:
    """Weights and floors of the decision; see ``[scoring]`` in the unit file."""

    strong: float = 3.0
    keywords: float = 1.0
    weak: float = 0.5
    phrase_bonus: float = 0.5
    topic_floor: float = 2.0
    spam_floor: float = 3.0
    referral_floor: float = 2.0
    saturation: float = 2.5


@dataclasses.dataclass(frozen=True)
class Places:
    """Location words masked before scoring; see ``[location]``, ``[gazetteer]``."""

    kelurahan: Sequence[str] = ()
    aliases: Mapping[str, str] = dataclasses.field(default_factory=dict)
    needs_marker: Sequence[str] = ()
    kecamatan: Sequence[str] = ()
    markers: Sequence[str] = ()
    near: Sequence[str] = ()
    filler: Sequence[str] = ()
    landmarks: Sequence[str] = ()
    office: Sequence[str] = ()
    numbered: Sequence[str] = ()


class _Node:
    """A word in the tree of listed sequences.

    ``following`` holds the words that may come next; ``value`` is that of the
    sequence ending at this word, or None when none ends here.
    """

    __slots__ = ("following", "value")

    def __init__(self) -> None:
        self.following: dict[str, _Node] = {}
        self.value: int | None = None


class _Sequences:
    """Find the longest listed word sequence that starts at a position.

    The sequences form a tree of words, so matching walks one dictionary
    lookup per word instead of comparing every sequence with the same first
    word.
    """

    def __init__(self) -> None:
        self._first: dict[str, _Node] = {}

    def __contains__(self, first: object) -> bool:
        return first in self._first

    @property
    def firsts(self) -> frozenset[str]:
        """Return the words a listed sequence may start with."""
        return frozenset(self._first)

    def add(self, words: Sequence[str], value: int, key: str) -> None:
        """List ``words``; a sequence listed twice keeps its first value.

        ``key`` names the list of the unit file the sequence comes from.
        """
        if not words:
            raise LexiconError(key, "a listed name or landmark has no words")
        following = self._first
        for word in words:
            node = following.setdefault(word, _Node())
            following = node.following
        if node.value is None:
            node.value = value

    def match(self, tokens: list[str], start: int) -> tuple[int, int] | None:
        """Return (length, value) of the longest sequence at ``start``."""
        node = self._first.get(tokens[start])
        return None if node is None else _longest(tokens, start, node)

    def scan(self, tokens: list[str]) -> tuple[list[int], list[tuple[int, int]]]:
        """Match left to right, longest first, resuming after each match.

        Return the value of every match in order, and the (start, stop) span of
        every match longer than one word.
        """
        # Most words start no listed sequence: look them all up at once and
        # visit only the positions where one may start.
        firsts = list(map(self._first.get, tokens))
        values: list[int] = []
        spans: list[tuple[int, int]] = []
        resume = 0
        for start in itertools.compress(range(len(tokens)), firsts):
            node = firsts[start]
            if start < resume or node is None:
                continue
            found = _longest(tokens, start, node)
            if found is None:
                continue
            length, value = found
            values.append(value)
            if length > 1:
                resume = start + length
                spans.append((start, resume))
        return values, spans


def _longest(tokens: list[str], start: int, node: _Node) -> tuple[int, int] | None:
    """Return (length, value) of the longest sequence from ``node`` at ``start``."""
    found = None if node.value is None else (1, node.value)
    stop = start + 1
    while stop < len(tokens):
        following = node.following.get(tokens[stop])
        if following is None:
            break
        node, stop = following, stop + 1
        if node.value is not None:
            found = (stop - start, node.value)
    return found


class _Spellings(dict[str, tuple[str, ...]]):
    """Map each lower-cased chunk of text between spaces to its canonical words.

    Two bounded caches: a chunk ("jln," or "rt.05") maps to the canonical words
    found in it, cheap to recompute; a word maps to its canonical words, dear
    to compute, so a flood of new punctuation never evicts the words.
    """

    def __init__(self, canonical: Callable[[str], tuple[str, ...]]) -> None:
        super().__init__()
        self._canonical = canonical
        self._words: dict[str, tuple[str, ...]] = {}

    def __missing__(self, chunk: str) -> tuple[str, ...]:
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        # Spaces never fall inside a word or a run of one letter, so a chunk is
        # shortened and split exactly as the whole message would be.
        words = _WORD.findall(_LETTER_RUN.sub(r"\1", chunk))
        spelled = tuple(itertools.chain.from_iterable(map(self._word, words)))
        self[chunk] = spelled
        return spelled

    def _word(self, word: str) -> tuple[str, ...]:
        """Return the canonical words of one word, computing them once."""
        spelled = self._words.get(word)
        if spelled is None:
            if len(self._words) >= _CACHE_LIMIT:
                self._words.clear()
            spelled = self._words[word] = self._canonical(word)
        return spelled


class Classifier:
    """Score an SMS against every unit's words and pick the unit, or none."""

    def __init__(
        self,
        units: Mapping[str, Words],
        none: Mapping[str, Words] | None = None,
        *,
        open_issue: Sequence[str] = (),
        synonyms: Mapping[str, str] | None = None,
        keep: Sequence[str] = (),
        ignore: Sequence[str] = (),
        places: Places | None = None,
        scoring: Scoring | None = None,
        triage_unit: str | None = None,
    ) -> None:
        """Compile word lists: a plain list, or a table of ``TIERS`` lists."""
        self.codes = tuple(units)
        self.categories = tuple(none or {})
        self.triage_unit = triage_unit
        self.scoring = scoring or Scoring()
        spellings = (synonyms or {}).items()
        self._synonyms = {key: tuple(value.split()) for key, value in spellings}
        self._vocab = {word for value in self._synonyms.values() for word in value}
        self._vocab.update(word.lower() for word in keep)
        self._spellings = _Spellings(self._canonical)
        self._phrases = _Sequences()
        self._combos: dict[str, list[tuple[tuple[str, ...], int]]] = {}
        self._hits: list[tuple[Hit, ...]] = []
        self._term_ids: dict[tuple[str, ...], int] = {}
        self._open_slot = len(self.codes) + len(self.categories)
        named = [f"units.{code}" for code in units]
        named += [f"none.{name}" for name in none or {}]
        for slot, words in enumerate([*units.values(), *(none or {}).values()]):
            self._add_tiers(words, slot, named[slot])
        self._add_list(open_issue, self._open_slot, 1.0, "none.open_issue")
        self._add_list(ignore, -1, 0.0, "language.ignore")
        self._compile_places(places or Places())
        self._skeletons = _skeleton_index(self._vocab)
        # Most "+" rules fail for want of their other words: one set test per
        # first word rules out all of its rules at once.
        self._partners = {
            first: frozenset(word for rest, _ in rules for word in rest)
            for first, rules in self._combos.items()
        }

    @classmethod
    def from_config(cls, data: Mapping[str, Any]) -> Classifier:
        """Build a classifier from the parsed unit file (``tomllib.load``).

        Loading the config builds one to check the unit file, and a worker
        asks again for the same parsed file: the last one built is returned
        for it rather than compiled twice (the file is never changed once
        parsed).
        """
        for parsed, built in _last_built:
            if parsed is data:
                return built
        built = cls._compile(data)
        _last_built[:] = [(data, built)]
        return built

    @classmethod
    def _compile(cls, data: Mapping[str, Any]) -> Classifier:
        triage = data.get("triage_unit")
        none = _table(data, "none")
        language = _table(data, "language")
        return cls(
            _word_tables(_table(data, "units"), "units", skip=triage),
            _word_tables(none, "none", skip=OPEN_ISSUE),
            open_issue=_strings(none.get(OPEN_ISSUE, []), "none.open_issue"),
            synonyms=_string_table(language, "synonyms", "language."),
            keep=_strings(language.get("keep", []), "language.keep"),
            ignore=_strings(language.get("ignore", []), "language.ignore"),
            places=_places(_table(data, "location"), _table(data, "gazetteer")),
            scoring=_scoring(_table(data, "scoring")),
            triage_unit=triage if isinstance(triage, str) else None,
        )

    def classify(self, text: str) -> Classification:
        """Return the unit that must act on ``text``, or why none must."""
        text = numerals.fold(text)  # fullwidth words are the listed words
        # Most SMS are not in the Surga format; "#" is quicker to look for. The
        # fields are read as for storing, so labels and names are never topics.
        body = identity.fields(text).body if "#" in text else text
        tokens = self._normalise(body)
        kelurahan = self._mask(tokens)
        masked = tokens.count(_MASK)
        empty = masked == len(tokens)
        totals = self._score(self._close_up(tokens) if masked else tokens)
        # A question asks for something, so a thanks ending in "?" stays open.
        return self._decide(totals, kelurahan, empty, "?" in body)

    def route(self, text: str, threshold: float) -> Classification:
        """Classify; send a complaint without a sure unit to the triage unit."""
        found = self.classify(text)
        unsure = found.code is None or found.confidence < threshold
        if found.kind == COMPLAINT and unsure and self.triage_unit is not None:
            # Built directly: dataclasses.replace costs as much as a decision.
            return Classification(
                self.triage_unit,
                found.confidence,
                found.kind,
                found.kelurahan,
                found.scores,
            )
        return found

    # -- compiling the word lists ---------------------------------------------

    def _add_tiers(self, words: Words, slot: int, key: str) -> None:
        if not isinstance(words, Mapping):
            self._add_list(words, slot, self.scoring.keywords, key)
            return
        for tier in TIERS:
            weight = getattr(self.scoring, tier)
            self._add_list(words.get(tier, ()), slot, weight, f"{key}.{tier}")

    def _add_list(
        self, terms: Sequence[str], slot: int, weight: float, key: str
    ) -> None:
        for term in terms:
            parts = [self._spell(part) for part in term.split(_COMBO)]
            if not all(parts):
                raise LexiconError(key, f"empty word in {errors.shown(term)}")
            if len(parts) > 1 and any(len(part) > 1 for part in parts):
                problem = f"each side of '+' must be one word: {errors.shown(term)}"
                raise LexiconError(key, problem)
            words = tuple(word for part in parts for word in part)
            scaled = weight * (1 + self.scoring.phrase_bonus * (len(words) - 1))
            spelled = (_COMBO, *words) if len(parts) > 1 else words
            if not self._add_hit(spelled, slot, scaled):
                continue
            term_id = self._term_ids[spelled]
            if len(parts) > 1:
                self._combos.setdefault(words[0], []).append((words[1:], term_id))
            else:
                self._phrases.add(words, term_id, key)

    def _spell(self, text: str) -> tuple[str, ...]:
        """Return the canonical words of a listed term (no affix stripping)."""
        words: list[str] = []
        for word in _WORD.findall(text.lower()):
            spelled = NUMBER if word.isdigit() else word
            words.extend(self._synonyms.get(spelled, (spelled,)))
        self._vocab.update(words)
        return tuple(words)

    def _add_hit(self, key: tuple[str, ...], slot: int, weight: float) -> bool:
        """Record ``weight`` for ``slot``; return whether the term is new."""
        created = key not in self._term_ids
        if created:
            self._term_ids[key] = len(self._hits)
            self._hits.append(())
        term = self._term_ids[key]
        if slot >= 0:
            # Two spellings of one word listed for one unit count once, at best.
            old = [hit for hit in self._hits[term] if hit[0] == slot]
            others = tuple(hit for hit in self._hits[term] if hit[0] != slot)
            self._hits[term] = (*others, (slot, max([weight] + [w for _, w in old])))
        return created

    def _compile_places(self, places: Places) -> None:
        def words(items: Sequence[str]) -> set[str]:
            return {word for item in items for word in self._spell(item)}

        self._near, self._filler = words(places.near), words(places.filler)
        self._office, self._markers = words(places.office), words(places.markers)
        self._numbered = words(places.numbered)
        self._landmarks = _Sequences()
        for landmark in places.landmarks:
            self._landmarks.add(self._spell(landmark), 0, "location.landmarks")
        self._gazetteer = _Sequences()
        # Per entry: official name, is it a kelurahan, does it need a marker.
        self._places: list[tuple[str, bool, bool]] = []
        marked = {name.lower() for name in places.needs_marker}
        named = [(name, name, True, "kelurahan") for name in places.kelurahan]
        named += [
            (alias, name, True, f"aliases.{alias}")
            for alias, name in places.aliases.items()
        ]
        named += [(name, name, False, "kecamatan") for name in places.kecamatan]
        for written, name, is_kelurahan, key in named:
            needs_marker = not is_kelurahan or name.lower() in marked
            spelled = self._spell(written)
            self._gazetteer.add(spelled, len(self._places), f"gazetteer.{key}")
            self._places.append((name, is_kelurahan, needs_marker))
        # A message without these words has nothing to mask.
        self._place_words = self._numbered | self._near | self._gazetteer.firsts

    # -- normalising and masking ------------------------------------------------

    def _normalise(self, body: str) -> list[str]:
        """Return the canonical words of a message body."""
        # Spaces never fall inside a word: look each space-separated chunk up
        # whole, which is faster than finding the words with a regex.
        spelled = map(self._spellings.__getitem__, body.lower().split())
        return list(itertools.chain.from_iterable(spelled))

    def _canonical(self, word: str) -> tuple[str, ...]:
        if numerals.is_digits(word):
            return (NUMBER,)
        if double := _REDUPLICATED.fullmatch(word):
            return self._canonical(double.group(1)) * 2
        if not word.isalpha():
            pieces = _PIECE.findall(word)
            return tuple(part for piece in pieces for part in self._canonical(piece))
        candidates = (word, *_candidates(word))
        for candidate in candidates:
            if candidate in self._synonyms:
                return self._synonyms[candidate]
            if candidate in self._vocab:
                return (candidate,)
        # SMS writers drop vowels ("smph", "slrn", "prkir"): fall back to the
        # one listed word that gives this spelling when vowels are dropped.
        for candidate in candidates:
            found = [
                known
                for known in self._skeletons.get(_skeleton(candidate), ())
                if _drops_vowels(known, candidate)
            ]
            if len(found) == 1:
                return (found[0],)
        return (word,)

    def _mask(self, tokens: list[str]) -> str | None:
        """Replace location words by placeholders; return the kelurahan named."""
        if self._place_words.isdisjoint(tokens):
            return None
        found: str | None = None
        source = list(tokens)
        # Every mask starts at a listed place word, and most messages have
        # none or one: visit only those. Masks read ``source`` and write one
        # placeholder, so the order they are applied in does not matter.
        listed = map(self._place_words.__contains__, source)
        for index in itertools.compress(range(len(source)), listed):
            self._mask_after(source, tokens, index)
            if source[index] in self._gazetteer:
                found = self._mask_place(source, tokens, index) or found
        return found

    def _mask_after(self, source: list[str], tokens: list[str], index: int) -> None:
        """Mask "rt" and the number after it, or "depan" and the landmark after it."""
        after = index + 1
        if after >= len(source):
            return
        if source[after] == NUMBER and source[index] in self._numbered:
            tokens[index : after + 1] = [_MASK, _MASK]
        elif source[index] in self._near:
            start = after + (source[after] in self._filler)
            if start < len(source) and (hit := self._landmarks.match(source, start)):
                stop = start + hit[0]
                tokens[index:stop] = [_MASK] * (stop - index)

    def _close_up(self, tokens: list[str]) -> list[str]:
        """Drop placeholders and a "di" before them: the words around a place meet.

        "dalan neng ngarep omah bolong" reads "jalan bolong", as the same
        complaint without the place would.
        """
        kept: list[str] = []
        for token in tokens:
            if token != _MASK:
                kept.append(token)
            elif kept and kept[-1] in self._filler:
                kept.pop()
        return kept

    def _mask_place(
        self, source: list[str], tokens: list[str], index: int
    ) -> str | None:
        matched = self._gazetteer.match(source, index)
        if matched is None:
            return None
        length, entry = matched
        name, is_kelurahan, needs_marker = self._places[entry]
        marker = source[index - 1] if index else ""
        marker = marker if marker in self._markers else ""
        if (needs_marker and not marker) or (not is_kelurahan and marker != _KECAMATAN):
            return None
        tokens[index : index + length] = [_MASK] * length
        # "kantor kelurahan X" is about the office; "kel. X" only an address.
        if marker and not (index > 1 and source[index - 2] in self._office):
            tokens[index - 1] = _MASK
        return name if is_kelurahan and marker != _KECAMATAN else None

    # -- scoring and deciding ---------------------------------------------------

    def _score(self, tokens: list[str]) -> list[float]:
        """Return one total per unit, per category and for open-issue words.

        A "+" rule needs one of its words outside every matched phrase, so
        "lampu taman" does not count a second time as "lampu + taman".
        """
        totals = [0.0] * (self._open_slot + 1)
        terms, spans = self._phrases.scan(tokens)
        # Each phrase counts once, in the order first matched; floats are
        # added in one fixed order so that totals never differ by rounding.
        for term in dict.fromkeys(terms):
            for slot, weight in self._hits[term]:
                totals[slot] += weight
        present = set(tokens)
        # The words outside phrases, found only once a rule needs them.
        free = None if spans else present
        for token in filter(self._partners.__contains__, present):
            if present.isdisjoint(self._partners[token]):
                continue
            for rest, term in self._combos[token]:
                if not present.issuperset(rest):
                    continue
                if free is None:
                    free = _outside(tokens, spans)
                if token in free or not free.isdisjoint(rest):
                    _add_hits(totals, self._hits[term])
        return totals

    def _decide(
        self, totals: list[float], kelurahan: str | None, empty: bool, question: bool
    ) -> Classification:
        units = len(self.codes)
        unit_totals = totals[:units]
        scores = dict(zip(self.codes, unit_totals, strict=True))
        best, runner_up = [*sorted(unit_totals, reverse=True), 0.0, 0.0][:2]
        named = totals[units : self._open_slot]
        # Most messages score in no category, and an empty table reads the same
        # as a table of zeros in _not_for_a_unit.
        categories: dict[str, float] = {}
        if any(named):
            categories = dict(zip(self.categories, named, strict=True))
        open_issue = totals[self._open_slot] > 0
        rules = self.scoring
        verdict = self._not_for_a_unit(
            categories, best, open_issue or question, kelurahan
        )
        # Every branch but the last leaves the message with no unit.
        if empty:
            kind, confidence = NOT_COMPLAINT, 1.0
        elif verdict is not None:
            kind = verdict[0]
            confidence = _confidence(verdict[1], best, rules.saturation)
        elif best < rules.topic_floor and not open_issue:
            # A stray "sekolah" or "pasar" in a message that asks for nothing
            # is chatter, not a complaint.
            kind, confidence = NOT_COMPLAINT, round(1 - best / rules.topic_floor, 4)
        elif best < rules.keywords:
            kind, confidence = COMPLAINT, 0.0
        else:
            code = max(self.codes, key=scores.__getitem__)
            confidence = _confidence(best, runner_up, rules.saturation)
            return Classification(code, confidence, COMPLAINT, kelurahan, scores)
        return Classification(None, confidence, kind, kelurahan, scores)

    def _not_for_a_unit(
        self,
        categories: Mapping[str, float],
        best: float,
        open_issue: bool,
        kelurahan: str | None,
    ) -> tuple[str, float] | None:
        """Return (kind, deciding score) when a NONE category beats the units."""
        if not categories and best > 0:
            # Every rule below needs a category score, or no unit score.
            return None
        rules = self.scoring
        spam = categories.get(SPAM, 0.0)
        if spam >= rules.spam_floor and spam >= best:
            return NOT_COMPLAINT, spam
        outside = categories.get(OUTSIDE, 0.0)
        if outside > best or (outside > 0 and kelurahan is None):
            # Scored as the share of all evidence that points outside the city.
            return REFERRAL, best + outside
        referral = categories.get(REFERRAL_CATEGORY, 0.0)
        if referral > best and (referral >= rules.referral_floor or best == 0):
            return REFERRAL, referral
        operator = categories.get(OPERATOR, 0.0)
        if operator > best:
            return COMPLAINT, operator
        thanks = categories.get(THANKS, 0.0)
        if thanks > 0 and not open_issue:
            return NOT_COMPLAINT, thanks
        if best >= rules.topic_floor:
            return None
        chatter = [
            (score, name)
            for name, score in categories.items()
            if score > 0 and name not in _RULED
        ]
        if not chatter:
            return None
        score, name = max(chatter)
        return (STATUS_QUERY if name == STATUS else NOT_COMPLAINT), score


# The parsed unit file last compiled by Classifier.from_config, and its result.
_last_built: list[tuple[Mapping[str, Any], Classifier]] = []


def _add_hits(totals: list[float], hits: tuple[Hit, ...]) -> None:
    for slot, weight in hits:
        totals[slot] += weight


def _outside(tokens: list[str], spans: list[tuple[int, int]]) -> set[str]:
    """Return the words outside the given (start, stop) spans of ``tokens``."""
    words: set[str] = set()
    start = 0
    for span_start, span_stop in spans:
        words.update(tokens[start:span_start])
        start = span_stop
    words.update(tokens[start:])
    return words


# Scores are sums of a few weights, so the same pairs come back again and
# again, and round() is the dearest step of a decision.
@functools.lru_cache(maxsize=4096)
def _confidence(top: float, runner_up: float, saturation: float) -> float:
    """Return the damped share of ``top`` that ``runner_up`` does not match."""
    if top <= 0:
        return 0.0
    margin = max(0.0, top - runner_up) / top
    return round(margin * top / (top + saturation), 4)


def _skeleton(word: str) -> str:
    """Return the first letter and the consonants after it, runs collapsed."""
    return _DOUBLE_LETTER.sub(r"\1", word[:1] + _VOWELS.sub("", word[1:]))


def _skeleton_index(vocabulary: set[str]) -> dict[str, list[str]]:
    """Group the words long enough to be abbreviated by their skeleton."""
    index: dict[str, list[str]] = {}
    for word in sorted(vocabulary):
        skeleton = _skeleton(word)
        if len(word) >= _MIN_SKELETON_WORD and len(skeleton) >= _MIN_BASE:
            index.setdefault(skeleton, []).append(word)
    return index


def _drops_vowels(word: str, written: str) -> bool:
    """Tell whether ``written`` is ``word`` with some vowels left out."""
    position = 0
    for letter in word:
        if position < len(written) and written[position] == letter:
            position += 1
        elif letter not in "aeiou":
            return False
    return position == len(written)


def _candidates(word: str) -> Iterator[str]:
    """Yield shorter base forms of ``word``, the least stripped first."""
    for prefix, suffix in _AFFIX_PAIRS:
        if not (prefix or suffix) or not word.startswith(prefix):
            continue
        if not word.endswith(suffix):
            continue
        base = word[len(prefix) : len(word) - len(suffix)]
        possessive = not prefix and suffix in _POSSESSIVES
        if len(base) < _MIN_BASE + (0 if possessive else 1):
            continue
        if prefix in _NASAL_BASE:
            yield _NASAL_BASE[prefix] + base
        yield base
    yield _DOUBLE_LETTER.sub(r"\1", word)


# -- reading the unit file --------------------------------------------------------


def _table(data: Mapping[str, Any], key: str, within: str = "") -> Mapping[str, Any]:
    """Return the table ``key`` of ``data`` (named ``within.key`` in errors)."""
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise LexiconError(f"{within}{key}", "must be a table")
    return value


def _strings(value: Any, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise LexiconError(key, "must be a list of strings")
    return value


def _string_table(data: Mapping[str, Any], key: str, within: str) -> dict[str, str]:
    """Return a table whose values are all strings, such as the synonyms."""
    table = _table(data, key, within)
    for name, value in table.items():
        if not isinstance(value, str):
            raise LexiconError(f"{within}{key}.{name}", "must be a string")
    return dict(table)


def _word_tables(table: Mapping[str, Any], section: str, skip: Any) -> dict[str, Words]:
    """Return each entry's word list or tiers, leaving out the ``skip`` key."""
    found: dict[str, Words] = {}
    for name, value in table.items():
        key = f"{section}.{name}"
        if name == skip:
            continue
        if isinstance(value, list):
            found[name] = _strings(value, key)
        elif isinstance(value, Mapping):
            found[name] = {t: _strings(value.get(t, []), f"{key}.{t}") for t in TIERS}
        else:
            raise LexiconError(key, "must be a list of words or a table")
    return found


def _places(location: Mapping[str, Any], gazetteer: Mapping[str, Any]) -> Places:
    aliases = _string_table(gazetteer, "aliases", "gazetteer.")
    found: dict[str, Any] = {"aliases": aliases}
    for name in ("kelurahan", "needs_marker", "kecamatan", "markers"):
        found[name] = _strings(gazetteer.get(name, []), f"gazetteer.{name}")
    for name in ("near", "filler", "landmarks", "office", "numbered"):
        found[name] = _strings(location.get(name, []), f"location.{name}")
    return Places(**found)


SCORING_KEYS: Final = frozenset(field.name for field in dataclasses.fields(Scoring))


def _scoring(table: Mapping[str, Any]) -> Scoring:
    """Read ``[scoring]``: weights and floors of at least 0, a saturation above 0.

    Scores are sums of weights, compared with floors; a negative weight or
    floor would turn the comparisons around, and a saturation of 0 or less
    would make the confidence of one weak word 1 or divide by zero.
    """
    for key, value in table.items():
        name = f"scoring.{key}"
        if key not in SCORING_KEYS:
            known = ", ".join(sorted(SCORING_KEYS))
            raise LexiconError(name, f"unknown key (known: {known})")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise LexiconError(name, f"must be a number, got {errors.shown(value)}")
        if not math.isfinite(value):
            raise LexiconError(name, f"must be a finite number, got {value}")
        if key == "saturation" and value <= 0:
            raise LexiconError(name, f"must be above 0, got {value}")
        if value < 0:
            raise LexiconError(name, f"must be 0 or more, got {value}")
    return Scoring(**{key: float(value) for key, value in table.items()})
