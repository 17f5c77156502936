"""Where does the family live? Postcodes, towns, villages, districts and authorities to a place.

The gazetteer is built from the knowledge base (places, postcode districts,
districts, authorities), so a village an administrator adds is understood at
once. Places outside the coverage area resolve to their own authority, so the
assistant can say "you are outside our area" and point to that authority.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from knowledge.text import loose, ngrams, normalise

FULL_POSTCODE = re.compile(r"([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})")
OUTWARD_CODE = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]?")
POSTCODE_IN_TEXT = re.compile(r"\b([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})?\b")
_FILLER_WORDS = {"in", "near", "at", "from", "the", "we", "live", "are", "i", "im", "i'm", "on", "nr", "area"}
FUZZY_CUTOFF = 0.84
COMMON_WORD_PLACES = frozenset({"reading", "hook", "cove", "west end", "harrow", "sutton", "bury", "fleet", "liss", "hart"})
"""Place names that are also everyday words: in free text they count only after "in", "near", "from",
"at", "to" or when written with a capital ("struggles with reading" is not Reading)."""
LOCATION_WORDS = {"in", "near", "from", "at", "to", "nr", "around", "outside"}


@dataclass(frozen=True)
class Authority:
    gss_code: str
    name: str
    kind: str
    in_coverage: bool
    website: str | None = None
    council_name: str | None = None
    local_offer_url: str | None = None


@dataclass(frozen=True)
class District:
    gss_code: str
    name: str
    authority_gss: str
    neighbours: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlaceName:
    name: str
    kind: str
    district_gss: str | None
    authority_gss: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResolvedPlace:
    """A place the family named, at district precision where we know it."""

    query: str
    matched: str
    match_kind: str  # postcode | outward_code | postcode_area | place | district | authority
    authority_gss: str | None
    authority_name: str | None
    in_coverage: bool
    district_gss: str | None = None
    district_name: str | None = None
    authority_website: str | None = None
    authority_council_name: str | None = None
    authority_local_offer_url: str | None = None

    @property
    def area_codes(self) -> tuple[str, ...]:
        """The GSS codes a service area may name to reach this family, nearest first."""
        codes = [c for c in (self.district_gss, self.authority_gss) if c]
        return tuple(dict.fromkeys(codes))


@dataclass(frozen=True)
class PlaceError:
    query: str
    code: str  # empty | unknown_place | unknown_postcode
    message: str


class Gazetteer:
    def __init__(
        self,
        authorities: dict[str, Authority],
        districts: dict[str, District],
        places: list[PlaceName],
        postcodes: dict[str, tuple[str | None, str]],
    ) -> None:
        self.authorities = authorities
        self.districts = districts
        self.postcodes = {code.upper(): value for code, value in postcodes.items()}
        self.coverage_postcode_areas = frozenset(
            _letters(code)
            for code, (district, authority) in self.postcodes.items()
            if authorities.get(authority) and authorities[authority].in_coverage
        )
        self._names: dict[str, PlaceName] = {}
        for authority in authorities.values():
            self._add(authority.name, PlaceName(authority.name, "authority", None, authority.gss_code), rank=0)
        for district in districts.values():
            self._add(district.name, PlaceName(district.name, "district", district.gss_code, district.authority_gss), rank=2)
        for place in places:
            for name in (place.name, *place.aliases):
                self._add(name, place, rank=1)
        self._keys = sorted(self._names)
        self._max_words = max((len(k.split()) for k in self._keys), default=1)

    def _add(self, name: str, place: PlaceName, rank: int) -> None:
        key = loose(name)
        if not key:
            return
        authority = self.authorities.get(place.authority_gss)
        score = (bool(authority and authority.in_coverage), place.district_gss is not None, rank)
        current = self._names.get(key)
        if current is None or score > current[1]:
            self._names[key] = (place, score)  # type: ignore[assignment]

    @property
    def names(self) -> list[str]:
        return list(self._keys)

    def _place(self, key: str) -> PlaceName:
        return self._names[key][0]  # type: ignore[index]

    def resolve(self, text: str) -> ResolvedPlace | PlaceError:
        """Resolve a postcode, outward code, town, village, district or authority name."""
        query = text or ""
        norm = normalise(query)
        if not norm:
            return PlaceError(query, "empty", "No place was given.")
        compact = norm.replace(" ", "").upper()
        full = FULL_POSTCODE.fullmatch(compact)
        if full or OUTWARD_CODE.fullmatch(compact):
            outward = full.group(1) if full else compact
            return self._from_postcode(query, outward, "postcode" if full else "outward_code")
        words = [w for w in loose(norm).split() if w not in _FILLER_WORDS] or loose(norm).split()
        key = " ".join(words)
        if key in self._names:
            return self._resolved(query, self._place(key))
        found = self.find_in_text(query)
        if found is not None:
            return found
        close = difflib.get_close_matches(key, self._keys, n=1, cutoff=FUZZY_CUTOFF)
        if close:
            return self._resolved(query, self._place(close[0]))
        return PlaceError(query, "unknown_place", f"We don't recognise the place \u201c{query.strip()}\u201d.")

    def find_in_text(self, text: str) -> ResolvedPlace | None:
        """The first postcode or place name (exact, longest first) mentioned anywhere in free text."""
        upper = (text or "").upper()
        for match in POSTCODE_IN_TEXT.finditer(upper):
            outward, inward = match.group(1), match.group(2)
            if inward or outward in self.postcodes:
                return self._from_postcode(text, outward, "postcode" if inward else "outward_code")
        words = loose(text or "").split()
        originals = re.sub(r"[^A-Za-z0-9' ]+", " ", text or "").split()
        for start, _end, phrase in ngrams(words, self._max_words):
            if phrase not in self._names or phrase in _FILLER_WORDS:
                continue
            if phrase in COMMON_WORD_PLACES:
                capitalised = len(originals) == len(words) and originals[start][:1].isupper()
                if not capitalised and not (start > 0 and words[start - 1] in LOCATION_WORDS):
                    continue
            return self._resolved(text, self._place(phrase))
        return None

    def _from_postcode(self, query: str, outward: str, kind: str) -> ResolvedPlace | PlaceError:
        entry = self.postcodes.get(outward)
        if entry is not None:
            district_gss, authority_gss = entry
            place = PlaceName(outward, kind, district_gss, authority_gss)
            return self._resolved(query, place, match_kind=kind, matched=outward)
        if _letters(outward) in self.coverage_postcode_areas:
            return PlaceError(query, "unknown_postcode", f"We don't recognise the postcode {outward}.")
        # A postcode area we do not cover at all (e.g. M, B, LS): certainly outside our area,
        # though without the national postcode file we cannot name the authority.
        return ResolvedPlace(query, outward, "postcode_area", None, None, in_coverage=False)

    def _resolved(self, query: str, place: PlaceName, match_kind: str | None = None, matched: str | None = None):
        authority = self.authorities.get(place.authority_gss)
        district = self.districts.get(place.district_gss) if place.district_gss else None
        kind = match_kind or {"authority": "authority", "district": "district"}.get(place.kind, "place")
        return ResolvedPlace(
            query=query,
            matched=matched or place.name,
            match_kind=kind,
            authority_gss=place.authority_gss,
            authority_name=authority.name if authority else None,
            in_coverage=bool(authority and authority.in_coverage),
            district_gss=district.gss_code if district else None,
            district_name=district.name if district else None,
            authority_website=authority.website if authority else None,
            authority_council_name=authority.council_name if authority else None,
            authority_local_offer_url=authority.local_offer_url if authority else None,
        )


def _letters(outward: str) -> str:
    return re.match(r"[A-Z]+", outward).group(0) if outward else ""
