"""The term list: ISO 20275 merged with our own list and curated, each term with its source."""

import csv

from apps.validation.checks import legal_form_terms
from apps.validation.checks.legal_form_terms import (
    CURATION_FILE,
    iso_abbreviation_ambiguous,
    iso_abbreviation_ok,
    iso_file,
    iso_name_ok,
    load_terms,
)

TERMS = {term.term: term for term in load_terms()}


def test_the_standard_list_is_read_from_the_pinned_package():
    assert iso_file() is not None and iso_file().name == legal_form_terms.ISO_FILE_NAME
    from_iso = [t for t in TERMS.values() if "ISO 20275" in t.source]

    assert len(from_iso) > 1000
    # Forms only the standard list has, local and transliterated, from many jurisdictions.
    for term in ("Osakeyhtiö", "Sabiedrība ar ierobežotu atbildību", "d.n.o.", "합자회사", "PartG"):
        assert "ISO 20275" in TERMS[term].source, term
    assert len({t.country for t in from_iso}) > 80  # each term counted once, for its first


def test_our_own_list_wins_and_records_both_sources():
    ltd = TERMS["Ltd."]

    assert (ltd.ambiguous, ltd.source.split(";")[0]) == (False, "own")
    assert "ISO 20275" in ltd.source
    assert TERMS["Sdn Bhd"].source.startswith("own: ")


def test_curation_decides_last_and_every_decision_has_a_reason():
    with CURATION_FILE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))

    assert all(row["reason"].strip() for row in rows)
    excluded = {row["term"] for row in rows if row["decision"] == "exclude"}
    assert not excluded & set(TERMS)  # "Co-op", "Gen.", "STE" are gone
    assert TERMS["plc"].ambiguous and TERMS["AS"].position == "any"
    assert TERMS["SA"].position == "suffix"  # "SA Power Networks" stays whole


def test_the_rules_leave_out_descriptions_pairs_and_common_words():
    assert not iso_abbreviation_ok("SC")  # two letters undotted
    assert not iso_abbreviation_ok("SON")  # a common word
    assert not iso_abbreviation_ok("Živ.a sl.povolanie")  # a description
    assert not iso_abbreviation_ok("Pool Ltd.")  # a brand word in the phrase
    assert not iso_abbreviation_ok("株")  # one character
    assert iso_abbreviation_ok("d.o.o.") and iso_abbreviation_ok("㈜")
    assert not iso_name_ok("credit union", "English", True)
    assert not iso_name_ok("Kunta", "Finnish", False)
    assert not iso_name_ok("基金会", "Chinese", False)
    assert iso_name_ok("Osakeyhtiö", "Finnish", True) and iso_name_ok("합자회사", "Korean", False)
    assert iso_abbreviation_ambiguous("EOOD") and not iso_abbreviation_ambiguous("s.r.o.")
    assert not iso_abbreviation_ambiguous("PartG")


def test_acronyms_of_the_standard_list_count_only_in_capitals():
    from apps.validation.checks.legal_forms import base_name

    # PAC: a protected cell company in Guernsey; "Pac" is Pacific in many brand names.
    assert TERMS["PAC"].exact_case
    assert base_name("ACME PAC") == "ACME"
    assert base_name("Acme Pac") == "Acme Pac"


def test_the_stored_terms_are_what_the_sources_make_now():
    # If this fails after a change to legal_forms.csv, legal_form_curation.csv or
    # legal_form_terms.py: .venv/bin/python -m apps.validation.checks.legal_form_terms
    assert legal_form_terms.stored_terms() == legal_form_terms.merged_terms()


def test_terms_stored_from_other_sources_are_not_used(tmp_path, monkeypatch):
    stale = tmp_path / "legal_form_terms.json"
    stale.write_text(
        '{"sources": "other", "terms": [["Acme", "GB", false, "suffix", "own", false]]}'
    )
    monkeypatch.setattr(legal_form_terms, "STORED_FILE", stale)

    assert legal_form_terms.stored_terms() is None
    assert legal_form_terms.load_terms() == legal_form_terms.merged_terms()
