"""A bounded schemathesis run against the OpenAPI document the web app serves at /openreferral/openapi.json.

Every operation gets requests built from the document (valid and invalid parameters; for `{id}`
paths, the ids of real records as well as made-up ones), sent to the app over real HTTP. No answer
may be a server error, and every answer must conform to the document: a documented status code
and content type, and a body valid against its schema (the profile's schemas, which the document
refers to by URL, are read from tests/fixtures/oruk/ instead, as the tests have no network).
"""

from __future__ import annotations

import json

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance
from sqlalchemy import select

from knowledge import models as m
from tests.oruk_feed import FeedServer
from tests.oruk_schemas import ORUK_DIR

pytestmark = pytest.mark.fuzz

PROFILE_URL = "https://raw.githubusercontent.com/openreferral/uk-profile/main/schema/"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = {GenerationMode.POSITIVE: 40, GenerationMode.NEGATIVE: 15}
"""Requests per operation and kind: about 600 in all, well under a minute."""


def _local_schemas(node):
    """The document with each of the profile's schemas, referred to by URL or file name, written in."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            return _local_schemas(json.loads((ORUK_DIR / "schema" / ref.removeprefix(PROFILE_URL)).read_text()))
        return {key: _local_schemas(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_local_schemas(value) for value in node]
    return node


@pytest.fixture
def served(web_kb, web_settings):
    from bot.app import create_app

    web_settings.oruk_burst = web_settings.oruk_per_minute = 10**9  # the throttle has its own test
    server = FeedServer(create_app(web_settings, web_kb))
    yield server.url + "/openreferral"
    server.close()


def _real_ids(kb) -> dict[str, list[str]]:
    with kb.sessions() as session:
        services = list(session.execute(select(m.Service.id).order_by(m.Service.id).limit(30)).scalars())
        organizations = list(session.execute(select(m.Organization.id).limit(10)).scalars())
    return {
        "/services/{id}": services,
        "/service_at_locations/{id}": [f"{sid}:location:1:at" for sid in services],
        "/organizations/{id}": organizations,
        "/taxonomies/{id}": ["local-offer-needs", "local-offer-tier"],
        "/taxonomy_terms/{id}": ["local-offer-needs:autism", "local-offer-tier:specialist"],
    }


def test_the_served_openapi_document_holds_for_generated_requests(served, web_kb):
    document = requests.get(served + "/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(_local_schemas(document))
    real = _real_ids(web_kb)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/services", "/services/{id}", "/organizations", "/service_at_locations"}
    with requests.Session() as http:
        for operation in operations:
            for mode, examples in EXAMPLES.items():
                if mode is GenerationMode.NEGATIVE and not document["paths"][operation.path]["get"].get("parameters"):
                    continue  # no query parameters to get wrong (any text is a valid id)
                cases = operation.as_strategy(generation_mode=mode)
                if operation.path in real and mode is GenerationMode.POSITIVE:
                    cases = st.tuples(cases, st.sampled_from(real[operation.path] + [None])).map(_with_id)

                @given(case=cases)
                @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
                def conforms(case):
                    case.call_and_validate(base_url=served, session=http, checks=CHECKS)

                conforms()


def _with_id(pair):
    case, real_id = pair
    if real_id is not None:
        case.path_parameters = {**(case.path_parameters or {}), "id": real_id}
    return case


def test_the_run_catches_a_server_error(served, web_kb):
    """The same checks fail on a 500: the run above is not vacuous."""
    document = requests.get(served + "/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(_local_schemas(document))
    operation = next(op.ok() for op in schema.get_all_operations() if op.ok().path == "/services")
    with web_kb.engine.begin() as connection:  # break the table the list reads: the app answers 500
        connection.exec_driver_sql("ALTER TABLE service RENAME TO service_gone")
    case = operation.Case(query={"per_page": 5})
    with pytest.raises(BaseException, match="Server error"):
        case.call_and_validate(base_url=served, checks=CHECKS)
