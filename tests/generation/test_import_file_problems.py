"""A file that cannot be read at all is refused with a sentence saying why, and stores nothing."""

import codecs

import pytest

from apps.core.errors import ServiceError
from apps.core.models import Prospect
from apps.generation.models import ProspectImport
from apps.generation.prospect_file import guess_mapping
from apps.generation.prospect_import import prospects_import

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (
            b"Email,Name\r\nx@initech.com,\x81\x8d\xff\r\n",
            "not UTF-8 \\(byte 0x81 at position 26\\)",
        ),
        (
            "Email,Name\r\nx@initech.com,Ann\r\n".encode("utf-16-le"),
            "UTF-16 without a byte-order mark",
        ),
        (codecs.BOM_UTF16_LE + b"E\x00m\x00\x00\xd8", "damaged or mislabelled"),
        (b"Name,Company\r\nAnn,Initech\r\n", "No column is mapped to email"),
        (b"Email,Email\r\nx@initech.com,y@initech.com\r\n", "same name"),
    ],
    ids=["empty", "bad-bytes", "utf16-no-bom", "broken-utf16", "no-email-column", "twice"],
)
def test_unreadable_file_is_refused_with_a_reason(acme_client, oscar, data, message):
    with pytest.raises(ServiceError, match=message):
        prospects_import(client=acme_client, data=data, file_name="f.csv", actor=oscar)
    assert not Prospect.objects.exists()
    assert not ProspectImport.objects.exists()


def test_usual_header_names_are_recognised():
    headers = ["E-mail Address", "Given name", "Surname", "Account Name", "Job Title", "Industry",
               "email_address"]
    assert guess_mapping(headers) == {
        "E-mail Address": "email", "Given name": "first_name", "Surname": "last_name",
        "Account Name": "company", "Job Title": "title", "Industry": "custom:industry",
        # A second address column does not silently replace the first.
        "email_address": "custom:email_address",
    }


def test_an_operator_mapping_overrides_the_guess(acme_client, oscar):
    data = b"Contact,Firm,Notes\r\nann@initech.com,Initech,call back\r\n"
    report = prospects_import(
        client=acme_client, data=data, file_name="f.csv", actor=oscar,
        mapping={"Contact": "email", "Firm": "company", "Notes": ""},
    )
    ann = Prospect.objects.get()
    assert (ann.email, ann.company, ann.custom_fields) == ("ann@initech.com", "Initech", {})
    assert report.mapping == {"Contact": "email", "Firm": "company", "Notes": ""}
