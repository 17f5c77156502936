"""The eligibility engine: (age, needs, place) -> eligible services, near misses and signposts.

A pure, deterministic function of its inputs and a catalogue snapshot. Bad input
comes back as error values in the result, never as an exception.

Age rules: `minimum_age` is inclusive. A whole-number `maximum_age` includes that
whole year ("ages 5 to 11" takes a child until their 12th birthday); a
fractional one is exact (1.5 ends at 18 months). The Local Offer itself covers
0 to 25, that is until the 26th birthday.

Order, relevance first: services tagged with the child's need(s) come first, then the
services open to any need (the "general" group). Within each group, services that need an
EHC plan come last (unless the family says whether there is a plan: `has_ehc_plan=True` ranks
them normally, `False` leaves them out of the list and explains them as near misses); then
universal, targeted, specialist; then the family's own district, authority-wide, national; then
by name.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

from knowledge.catalogue import Catalogue, ServiceEntry, SignpostEntry
from knowledge.places import PlaceError, ResolvedPlace
from knowledge.vocabulary import (
    ANY_NEED,
    CRISIS_SIGNPOST_KINDS,
    ENGLAND_GSS,
    LOCAL_OFFER_MAX_AGE,
    NEED_CODES,
    OFFERED_STATUS,
)

MAX_NEAR_MISSES = 10
MAX_NEAR_MISSES_OF_A_KIND = 5
MAX_SIGNPOSTS = 8
MAX_PLAUSIBLE_AGE = 120
_LOCAL_SIGNPOST_ORDER = {"sendias": 0, "parent_carer_forum": 1, "local_offer": 2, "helpline": 3}


@dataclass(frozen=True)
class InputError:
    field: str  # age | needs | place
    code: str
    message: str


class _Describer:
    """Builds the plain-language reasons, once per query, only for what is returned."""

    def __init__(self, catalogue: Catalogue, needs: tuple[str, ...], place: ResolvedPlace) -> None:
        self.catalogue = catalogue
        self.needs = needs
        self.place = place
        self.labels = {n: catalogue.vocabulary.label(n) for n in needs}
        self.area_text = {
            0: f"available in {place.district_name}",
            1: f"available across {place.authority_name}",
            2: "available anywhere in England",
        }

    def need(self, service: ServiceEntry) -> str:
        shared = [self.labels[n] for n in self.needs if n in service.needs]
        if shared:
            return "for " + " and ".join(shared)
        return "open to children and young people with any special educational need or disability"

    def ages(self, service: ServiceEntry) -> str:
        return "for " + age_range_text(service.minimum_age, service.maximum_age)

    def areas(self, service: ServiceEntry) -> str:
        gaz = self.catalogue.gazetteer
        names = []
        for code in service.areas:
            district = gaz.districts.get(code)
            authority = gaz.authorities.get(code)
            names.append(district.name if district else authority.name if authority else code)
        return " and ".join(names)


NEED_GROUP = "need"
GENERAL_GROUP = "general"
"""Result groups: services for the child's own need(s), then help open to any need."""


class Match:
    """One eligible service. A plain slotted class: a query makes hundreds of these."""

    __slots__ = ("service", "area_rank", "group", "_describe")

    def __init__(self, service: ServiceEntry, area_rank: int, describe: _Describer, group: str = NEED_GROUP) -> None:
        self.service = service
        self.area_rank = area_rank  # 0 own district, 1 authority-wide, 2 national
        self.group = group  # NEED_GROUP (tagged with one of the child's needs) or GENERAL_GROUP (any need)
        self._describe = describe

    def __repr__(self) -> str:
        return f"Match({self.service.id!r}, area_rank={self.area_rank}, group={self.group!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Match) and (self.service, self.area_rank, self.group) == (
            other.service,
            other.area_rank,
            other.group,
        )

    def __hash__(self) -> int:
        return hash((self.service.id, self.area_rank))

    @property
    def needs_ehc_plan(self) -> bool:
        return self.service.needs_ehc_plan

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why it fits, in plain words (built on demand: most matches are never shown)."""
        d = self._describe
        return (d.ages(self.service), d.need(self.service), d.area_text[self.area_rank])


@dataclass(frozen=True)
class NearMiss:
    service: ServiceEntry
    kind: str  # age | diagnosis | ehc_plan | area
    why_not: str
    reasons_met: tuple[str, ...]


@dataclass(frozen=True)
class SignpostMatch:
    signpost: SignpostEntry
    reason: str


@dataclass(frozen=True)
class ResultGroup:
    key: str  # NEED_GROUP | GENERAL_GROUP
    matches: tuple[Match, ...]
    start: int
    """Position of the group's first match in `EligibilityResult.eligible`."""


@dataclass(frozen=True)
class EligibilityResult:
    status: str  # ok | no_match | out_of_area | over_age | invalid
    age: float | None
    needs: tuple[str, ...]
    place: ResolvedPlace | None
    eligible: tuple[Match, ...] = ()
    near_misses: tuple[NearMiss, ...] = ()
    signposts: tuple[SignpostMatch, ...] = ()
    errors: tuple[InputError, ...] = ()
    has_ehc_plan: bool | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def groups(self) -> tuple[ResultGroup, ...]:
        """The eligible services in their groups, in order (need-specific, then general); empty groups left out."""
        groups = []
        for key in (NEED_GROUP, GENERAL_GROUP):
            matches = tuple(m for m in self.eligible if m.group == key)
            if matches:
                groups.append(ResultGroup(key, matches, self.eligible.index(matches[0])))
        return tuple(groups)

    @property
    def only_general(self) -> bool:
        """Services fit, but none is specifically for the child's (named) need: only general help."""
        named = [n for n in self.needs if n != "unsure"]
        return bool(self.eligible and named) and all(m.group == GENERAL_GROUP for m in self.eligible)


def format_age(age: float) -> str:
    """4 -> "4", 3.5 -> "3 and a half", under 2 in months or weeks: 1.5 -> "18 months", 0.1 -> "5 weeks"."""
    if age < 2 and not float(age).is_integer():
        months = round(age * 12)
        if months < 2:
            weeks = max(1, round(age * 52))
            return f"{weeks} week{'s' if weeks != 1 else ''}"
        return f"{months} months"
    whole = math.floor(age)
    if age - whole >= 0.5 and age < 5:
        return f"{whole} and a half"
    return str(whole)


def age_range_text(minimum: float | None, maximum: float | None) -> str:
    if minimum is None and maximum is None:
        return "any age"
    if maximum is None:
        return f"ages {format_age(minimum)} and over"
    if minimum is None or minimum == 0:
        return f"ages up to {format_age(maximum)}"
    return f"ages {format_age(minimum)} to {format_age(maximum)}"


def age_fits(age: float, minimum: float | None, maximum: float | None) -> bool:
    """The age rule (see the module docstring); ServiceEntry precomputes the same as age_from/age_until."""
    if minimum is not None and age < minimum:
        return False
    if maximum is None:
        return True
    return age < maximum + 1 if float(maximum).is_integer() else age <= maximum


def age_band(age: float | None) -> str:
    """Coarse bands for the gap report (no personal data): early years, primary, secondary, post-16, adult."""
    if age is None:
        return "unknown"
    for upper, band in ((5, "0-4"), (11, "5-10"), (16, "11-15"), (19, "16-18"), (LOCAL_OFFER_MAX_AGE + 1, "19-25")):
        if age < upper:
            return band
    return "26+"


def _check_age(age) -> tuple[float | None, InputError | None]:
    if age is None:
        return None, InputError("age", "missing", "We need the child's age.")
    try:
        value = float(age)
    except (TypeError, ValueError):
        return None, InputError("age", "not_a_number", f"\u201c{age}\u201d is not an age in years.")
    if math.isnan(value) or value < 0:
        return None, InputError("age", "negative", "An age can't be below 0.")
    if value > MAX_PLAUSIBLE_AGE:
        return None, InputError("age", "implausible", f"{age} is not a plausible age.")
    return value, None


def _check_needs(catalogue: Catalogue, needs) -> tuple[tuple[str, ...], list[InputError]]:
    if isinstance(needs, str):
        needs = [needs]
    codes: list[str] = []
    errors: list[InputError] = []
    for need in needs or ():
        code = need if need in NEED_CODES else catalogue.vocabulary.resolve(str(need))
        if code not in NEED_CODES:
            errors.append(InputError("needs", "unknown_need", f"We don't recognise the need \u201c{need}\u201d."))
        elif code not in codes:
            codes.append(code)
    if not codes and not errors:
        errors.append(InputError("needs", "missing", "We need to know what kind of help the child needs."))
    return tuple(codes), errors


def _check_place(catalogue: Catalogue, place) -> tuple[ResolvedPlace | None, InputError | None]:
    if isinstance(place, ResolvedPlace):
        return place, None
    if place is None:
        return None, InputError("place", "missing", "We need to know where the family lives.")
    resolved = catalogue.gazetteer.resolve(str(place))
    if isinstance(resolved, PlaceError):
        return None, InputError("place", resolved.code, resolved.message)
    return resolved, None


def _area_ranks(place: ResolvedPlace) -> list[tuple[str, int]]:
    """The area codes that reach this family with their rank: 0 own district, 1 authority, 2 England."""
    ranks = []
    if place.district_gss and place.district_gss != place.authority_gss:
        ranks.append((place.district_gss, 0))
    if place.authority_gss:
        ranks.append((place.authority_gss, 0 if place.district_gss == place.authority_gss else 1))
    ranks.append((ENGLAND_GSS, 2))
    return ranks


def _area_rank(service: ServiceEntry, place: ResolvedPlace) -> int:
    return min((rank for code, rank in _area_ranks(place) if code in service.areas), default=3)


def _sort_key(catalogue: Catalogue, service: ServiceEntry, area_rank: int) -> tuple[int, int, int]:
    """Tier, then nearness of area, then name (the catalogue's precomputed position)."""
    return (service.tier_rank, area_rank, catalogue.position[service.id])


def evaluate(catalogue: Catalogue, age, needs, place, has_ehc_plan: bool | None = None) -> EligibilityResult:
    """Who can this family use? See the module docstring for the rules and the order.

    `has_ehc_plan`: True, services that need an EHC plan rank like any other; False, they are
    near misses ("only for ... with an EHC plan"); None (not known), they come last in their group (the wording marks them).
    """
    age_value, age_error = _check_age(age)
    need_codes, need_errors = _check_needs(catalogue, needs)
    resolved, place_error = _check_place(catalogue, place)
    errors = tuple(e for e in (age_error, *need_errors, place_error) if e)
    if errors:
        return EligibilityResult("invalid", age_value, need_codes, resolved, errors=errors)

    if age_value >= LOCAL_OFFER_MAX_AGE + 1:
        signposts = _signposts(catalogue, age_value, need_codes, resolved, adult=True)
        return EligibilityResult("over_age", age_value, need_codes, resolved, signposts=signposts, has_ehc_plan=has_ehc_plan)
    if not resolved.in_coverage:
        signposts = _signposts(catalogue, age_value, need_codes, resolved)
        return EligibilityResult("out_of_area", age_value, need_codes, resolved, signposts=signposts, has_ehc_plan=has_ehc_plan)

    eligible: list[tuple[tuple, ServiceEntry, int, int]] = []  # (sort key, service, area rank, group rank)
    near: list[tuple[tuple, str, ServiceEntry]] = []  # (sort key, kind, service)
    age_misses: list[tuple[float, ServiceEntry, int]] = []  # (years outside the range, service, area rank)
    only_unsure = set(need_codes) == {"unsure"}
    seen: set[str] = set()
    position = catalogue.position
    # The hot loop of every query: plain locals and bound methods, one comparison per criterion.
    mark_seen, add_eligible, add_age_miss = seen.add, eligible.append, age_misses.append
    plan_last = has_ehc_plan is None
    leave_out_plans = has_ehc_plan is False
    general_list = len(need_codes)  # offered_lists gives one list per need, then the any-need list
    # Nearest areas first, so the first time a service is met is at its nearest area rank; and the
    # need lists before the any-need list, so a service tagged with the child's need is met as such.
    for code, rank in _area_ranks(resolved):
        for list_index, bucket in enumerate(catalogue.offered_lists(code, need_codes)):
            group_rank = 1 if list_index == general_list else 0
            for service in bucket:
                service_id = service.id
                if service_id in seen:
                    continue
                mark_seen(service_id)
                if not service.age_from <= age_value < service.age_until:
                    add_age_miss((_age_gap(age_value, service), service, rank))
                elif service.diagnosis_required and only_unsure:
                    near.append(((1, 0, *_sort_key(catalogue, service, rank)), "diagnosis", service))
                elif service.needs_ehc_plan and leave_out_plans:
                    near.append(((1, 1, group_rank, *_sort_key(catalogue, service, rank)), "ehc_plan", service))
                else:
                    plan_rank = 1 if plan_last and service.needs_ehc_plan else 0
                    key = (group_rank, plan_rank, service.tier_rank, rank, position[service_id])
                    add_eligible((key, service, rank, group_rank))
    near.extend(_closest_age_misses(catalogue, age_misses))
    if resolved.district_gss:  # the next district's services explain "why not X?"
        near.extend(_neighbouring_district_misses(catalogue, age_value, need_codes, resolved, seen))

    eligible.sort(key=lambda item: item[0])
    near = heapq.nsmallest(MAX_NEAR_MISSES * 3, near, key=lambda item: item[0])
    describe = _Describer(catalogue, need_codes, resolved)
    groups = (NEED_GROUP, GENERAL_GROUP)
    matches = tuple(Match(service, rank, describe, groups[group]) for _key, service, rank, group in eligible)
    return EligibilityResult(
        "ok" if matches else "no_match",
        age_value,
        need_codes,
        resolved,
        eligible=matches,
        near_misses=_nearest(near, describe, age_value),
        signposts=_signposts(catalogue, age_value, need_codes, resolved),
        has_ehc_plan=has_ehc_plan,
    )


def _nearest(near: list[tuple[tuple, str, ServiceEntry]], describe: _Describer, age: float) -> tuple[NearMiss, ...]:
    """The closest misses, at most five of each kind (age, diagnosis, EHC plan, area) and ten in all."""
    kept: list[NearMiss] = []
    per_kind: dict[str, int] = {}
    for _key, kind, service in near:
        if per_kind.get(kind, 0) >= MAX_NEAR_MISSES_OF_A_KIND or len(kept) >= MAX_NEAR_MISSES:
            continue
        per_kind[kind] = per_kind.get(kind, 0) + 1
        place = describe.place
        if kind == "age":
            why = f"{describe.ages(service)}; your child is {format_age(age)}"
            met = (describe.need(service), describe.area_text[_area_rank(service, place)])
        elif kind == "diagnosis":
            why = "needs a diagnosis first; you said you are not sure yet"
            met = (describe.ages(service), describe.need(service), describe.area_text[_area_rank(service, place)])
        elif kind == "ehc_plan":
            why = "only for children and young people with an EHC plan; you said there isn't one yet"
            met = (describe.ages(service), describe.need(service), describe.area_text[_area_rank(service, place)])
        else:
            why = f"only for families living in {describe.areas(service)}; you are in {place.district_name}"
            met = (describe.ages(service), describe.need(service))
        kept.append(NearMiss(service, kind, why, met))
    return tuple(kept)


def _closest_age_misses(catalogue, misses: list[tuple[float, ServiceEntry, int]]) -> list[tuple[tuple, str, ServiceEntry]]:
    """The age misses that can make the final list, with their full sort keys.

    Most services miss on age by far; cutting at the 30th smallest gap first (a cheap float
    comparison) keeps exactly the candidates the full ordering could choose, ties included.
    """
    limit = MAX_NEAR_MISSES * 3
    if len(misses) > limit:
        cutoff = heapq.nsmallest(limit, (gap for gap, _s, _r in misses))[-1]
        misses = [m for m in misses if m[0] <= cutoff]
    return [((0, gap, *_sort_key(catalogue, service, rank)), "age", service) for gap, service, rank in misses]


def _age_gap(age: float, service: ServiceEntry) -> float:
    if service.minimum_age is not None and age < service.minimum_age:
        return service.minimum_age - age
    return age - (service.maximum_age or 0)


def _neighbouring_district_misses(catalogue, age, needs, place, seen) -> list[tuple[tuple, str, ServiceEntry]]:
    """The first few services, in tier-then-name order, that fit on age and need but are for a
    neighbouring district. Each index list is already in that order, so each scan stops early."""
    misses = []
    home = catalogue.gazetteer.districts.get(place.district_gss)
    only_unsure = set(needs) == {"unsure"}
    taken: set[str] = set()
    for neighbour in home.neighbours if home else ():
        for services in catalogue.offered_lists(neighbour, needs):
            found = 0
            for service in services:
                if found >= MAX_NEAR_MISSES_OF_A_KIND:
                    break
                if service.id in seen or service.id in taken:
                    continue
                if not service.age_from <= age < service.age_until:
                    continue
                if service.diagnosis_required and only_unsure:
                    continue
                taken.add(service.id)
                found += 1
                misses.append(((2, 0, *_sort_key(catalogue, service, 3)), "area", service))
    return misses


def _signposts(catalogue, age, needs, place, adult: bool = False) -> tuple[SignpostMatch, ...]:
    """Local help first (SENDIAS, parent carer forum, ...), then national help for these needs, then general."""
    authority = place.authority_gss if place else None
    ranked = []
    for sp in catalogue.signposts:
        if sp.kind in CRISIS_SIGNPOST_KINDS:
            continue  # given with the urgent-help and safeguarding answers, never as ordinary signposts
        if sp.scope == "local" and sp.authority_gss != authority:
            continue
        if age is not None and not age_fits(age, sp.minimum_age, sp.maximum_age):
            continue
        if adult and sp.kind != "adult_services" and not (sp.maximum_age and sp.maximum_age > LOCAL_OFFER_MAX_AGE):
            continue
        specific = [n for n in needs if n in sp.needs]
        if sp.needs and not specific:
            continue
        if sp.scope == "local":
            key = (0, _LOCAL_SIGNPOST_ORDER.get(sp.kind, 9))
            reason = f"local help in {place.authority_name}" if place else "local help"
        elif specific:
            key = (1, 0)
            reason = "national help for " + " and ".join(catalogue.vocabulary.label(n) for n in specific)
        else:
            key = (2, 0)
            reason = "national help for any family of a child with SEND" if not adult else "national help for adults"
        ranked.append(((*key, sp.name.casefold(), sp.id), SignpostMatch(sp, reason)))
    ranked.sort(key=lambda item: item[0])
    return tuple(match for _key, match in ranked[:MAX_SIGNPOSTS])


@dataclass(frozen=True)
class Explanation:
    """Why one service does or does not fit this family: each criterion, met or not, in plain words."""

    service: ServiceEntry
    eligible: bool
    met: tuple[str, ...]
    not_met: tuple[str, ...]


def explain_service(catalogue: Catalogue, service_id: str, age, needs, place) -> Explanation | None:
    """Check one named service against the family ("why not X?"); None if there is no such service."""
    service = next((s for s in catalogue.services if s.id == service_id), None)
    if service is None:
        return None
    age_value, _ = _check_age(age)
    need_codes, _ = _check_needs(catalogue, needs)
    resolved, _ = _check_place(catalogue, place)
    met: list[str] = []
    not_met: list[str] = []
    if service.status != OFFERED_STATUS:
        not_met.append(f"it is {service.status} at the moment")
    if age_value is not None:
        ages = age_range_text(service.minimum_age, service.maximum_age)
        if age_fits(age_value, service.minimum_age, service.maximum_age):
            met.append(f"it is for {ages}, and your child is {format_age(age_value)}")
        else:
            not_met.append(f"it is for {ages}; your child is {format_age(age_value)}")
    if need_codes:
        labels = " and ".join(catalogue.vocabulary.label(n) for n in need_codes)
        if ANY_NEED in service.needs or set(need_codes) & service.needs:
            met.append("it is for children with " + labels if set(need_codes) & service.needs else "it is open to any SEND need")
        else:
            wanted = " or ".join(catalogue.vocabulary.label(n) for n in sorted(service.needs)) or "needs it does not list"
            not_met.append(f"it is for children with {wanted}, not {labels}")
        if service.diagnosis_required and set(need_codes) == {"unsure"}:
            not_met.append("it needs a diagnosis first")
    if resolved is not None:
        if _area_rank(service, resolved) < 3 and resolved.in_coverage:
            met.append("it is available where you live")
        else:
            where = resolved.district_name or resolved.authority_name or resolved.matched
            not_met.append(
                f"it is only for families living in {_Describer(catalogue, (), resolved).areas(service)}; you are in {where}"
            )
    return Explanation(service, not not_met, tuple(met), tuple(not_met))
