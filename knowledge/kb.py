"""The knowledge base as the assistant and the web side use it: find services, fetch details, log gaps."""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Engine

from knowledge import models as m
from knowledge.catalogue import Catalogue, CatalogueCache
from knowledge.db import make_engine, make_session_factory
from knowledge.engine import EligibilityResult, age_band, evaluate
from knowledge.store import service_query, service_to_record
from knowledge.validation import review_due

UNMET_STATUSES = ("no_match", "out_of_area", "over_age")
ONLY_GENERAL = "only_general"
"""The unmet reason for a search where services fit, but none specifically for the child's need."""
UNMET_REASONS = (*UNMET_STATUSES, ONLY_GENERAL)
"""Why a search is logged for the gap report."""


class KnowledgeBase:
    def __init__(self, url: str | None = None, engine: Engine | None = None) -> None:
        self.engine = engine or make_engine(url)
        self.sessions = make_session_factory(self.engine)
        self._cache = CatalogueCache(self.sessions)
        self._details: dict[str, dict] = {}
        self._details_version: int | None = None

    def catalogue(self) -> Catalogue:
        """The current snapshot (reloaded only when the data changed)."""
        return self._cache.get()

    def find(self, age, needs, place, *, record_unmet: bool = True, has_ehc_plan: bool | None = None) -> EligibilityResult:
        result = evaluate(self.catalogue(), age, needs, place, has_ehc_plan=has_ehc_plan)
        if record_unmet and (result.status in UNMET_STATUSES or result.only_general):
            self.record_unmet(result)
        return result

    def record_unmet(self, result: EligibilityResult, reason: str | None = None) -> None:
        """Log a search that found nothing eligible, or only general help ("only_general"): needs, age band
        and area only. `reason` defaults to the result's own (its status, or only_general)."""
        reason = reason or (ONLY_GENERAL if result.status == "ok" and result.only_general else result.status)
        if reason not in UNMET_REASONS:
            raise ValueError(f"not a reason for the gap report: {reason}")
        place = result.place
        with self.sessions.begin() as session:
            session.add(
                m.UnmetSearch(
                    needs=",".join(sorted(result.needs)),
                    age_band=age_band(result.age),
                    district_gss=place.district_gss if place else None,
                    authority_gss=place.authority_gss if place else None,
                    reason=reason,
                )
            )

    def details(self, service_ids: list[str], today: date | None = None) -> list[dict]:
        """Full records for these services, in the order asked, with organisation name and review status.

        Records are kept until the data changes (the catalogue's version moves), so the services
        shown most often are read from the database once, not on every answer.
        """
        if not service_ids:
            return []
        today = today or date.today()
        version = self.catalogue().version
        if self._details_version != version:
            self._details, self._details_version = {}, version
        missing = [i for i in service_ids if i not in self._details]
        if missing:
            with self.sessions() as session:
                for service in session.execute(service_query().where(m.Service.id.in_(missing))).scalars():
                    record = service_to_record(service)
                    record["organization_name"] = service.organization.name
                    self._details[service.id] = record
        found = []
        for service_id in service_ids:
            record = self._details.get(service_id)
            if record is not None:
                reviewed = record["last_reviewed"] or record["assured_date"]
                found.append({**record, "review_due": review_due(reviewed, record["review_interval_days"], today)})
        return found

    def dispose(self) -> None:
        self.engine.dispose()
