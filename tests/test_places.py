"""Resolving where a family lives, from the seeded gazetteer."""

from __future__ import annotations

import pytest

from knowledge.places import PlaceError, ResolvedPlace


@pytest.mark.parametrize(
    ("text", "district"),
    [
        ("PO9 1AB", "Havant"),
        ("po91ab", "Havant"),
        ("PO9", "Havant"),
        ("SO16 3AB", "Southampton"),
        ("PO4 0HX", "Portsmouth"),
        ("GU51 3XX", "Hart"),
        ("RG21 7LJ", "Basingstoke and Deane"),
        ("SP10 1AA", "Test Valley"),
        ("BH24 1AA", "New Forest"),
        ("Havant", "Havant"),
        ("waterlooville", "Havant"),
        ("Fleet", "Hart"),
        ("Chandlers Ford", "Eastleigh"),
        ("Chandler's Ford", "Eastleigh"),
        ("Southsea", "Portsmouth"),
        ("Lee-on-the-Solent", "Gosport"),
        ("Basingstoke & Deane", "Basingstoke and Deane"),
        ("new forest", "New Forest"),
        ("Andover", "Test Valley"),
        ("Farnborogh", "Rushmoor"),
        ("Basingstok", "Basingstoke and Deane"),
        ("we live in Alton", "East Hampshire"),
        ("near Romsey", "Test Valley"),
    ],
)
def test_places_in_coverage_resolve_to_their_district(catalogue, text, district):
    place = catalogue.gazetteer.resolve(text)
    assert isinstance(place, ResolvedPlace), place
    assert place.in_coverage
    assert place.district_name == district


@pytest.mark.parametrize(
    ("text", "authority"),
    [
        ("Reading", "Reading"),
        ("RG1 2AB", "Reading"),
        ("Salisbury", "Wiltshire"),
        ("SP1 3AA", "Wiltshire"),
        ("Guildford", "Surrey"),
        ("GU1 4AA", "Surrey"),
        ("Chichester", "West Sussex"),
        ("PO19 1AA", "West Sussex"),
        ("Bournemouth", "Bournemouth, Christchurch and Poole"),
        ("Ryde", "Isle of Wight"),
        ("PO30 1AA", "Isle of Wight"),
        ("Isle of Wight", "Isle of Wight"),
    ],
)
def test_places_just_outside_resolve_to_their_own_authority(catalogue, text, authority):
    place = catalogue.gazetteer.resolve(text)
    assert isinstance(place, ResolvedPlace), place
    assert not place.in_coverage
    assert place.authority_name == authority
    assert place.district_gss is None


def test_authority_names_resolve_at_authority_precision(catalogue):
    place = catalogue.gazetteer.resolve("Hampshire")
    assert place.in_coverage and place.authority_name == "Hampshire" and place.district_gss is None
    assert catalogue.gazetteer.resolve("Portsmouth").district_name == "Portsmouth"


def test_every_english_send_authority_is_known(catalogue):
    authorities = catalogue.gazetteer.authorities
    assert len(authorities) >= 150
    assert {a.name for a in authorities.values() if a.in_coverage} == {"Hampshire", "Southampton", "Portsmouth"}
    for authority in authorities.values():
        resolved = catalogue.gazetteer.resolve(authority.name)
        assert isinstance(resolved, ResolvedPlace), authority.name
        # A name shared with a place in our area (Redbridge, a Southampton suburb) means the local place.
        assert resolved.authority_gss == authority.gss_code or resolved.in_coverage, authority.name


@pytest.mark.parametrize(
    ("text", "code"),
    [("Narnia", "unknown_place"), ("", "empty"), ("   ", "empty"), ("PO99 9ZZ", "unknown_postcode")],
)
def test_unknown_places_are_error_values(catalogue, text, code):
    result = catalogue.gazetteer.resolve(text)
    assert isinstance(result, PlaceError)
    assert result.code == code


def test_finds_places_in_free_text(catalogue):
    gaz = catalogue.gazetteer
    assert gaz.find_in_text("my lad's 12, autistic, won't go to school, we're in Havant").district_name == "Havant"
    assert gaz.find_in_text("we're at po9 2xx").district_name == "Havant"
    assert gaz.find_in_text("she is in year 6 and is autistic") is None


def test_every_coverage_district_has_places_and_postcodes(catalogue):
    gaz = catalogue.gazetteer
    with_postcodes = {district for district, _authority in gaz.postcodes.values() if district}
    assert set(gaz.districts) <= with_postcodes


def test_place_names_that_are_everyday_words_need_context(catalogue):
    gaz = catalogue.gazetteer
    assert gaz.find_in_text("he's 8 and struggles with reading") is None
    assert gaz.find_in_text("we live in reading").authority_name == "Reading"
    assert gaz.find_in_text("We moved to Reading last year").authority_name == "Reading"
