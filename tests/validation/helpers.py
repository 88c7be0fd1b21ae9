from apps.validation.checks.base import CheckFinding, RuleConfig

# A routable address outside every private and special range.
GLOBAL_IP = "93.184.216.34"
# The DNS situations the recipient-domain tests serve from the loopback DNS server.
ZONE = {
    "mx.test": {"MX": ["10 mail.mx.test."]},
    "mail.mx.test": {"A": [GLOBAL_IP]},
    "nullmx.test": {"MX": ["0 ."]},
    "implicit.test": {"A": [GLOBAL_IP]},
    "private.test": {"A": ["10.0.0.5"]},
    "spf-reject.test": {"A": [GLOBAL_IP], "TXT": ["v=spf1 -all"]},
    "mx-spf-reject.test": {"MX": ["10 mail.mx.test."], "TXT": ["v=spf1 -all"]},
    "loopback-mx.test": {"MX": ["10 mail.loopback-mx.test."]},
    "mail.loopback-mx.test": {"A": ["127.0.0.1"]},
}

MESSAGE_RULES = [RuleConfig("legal_form", "block"), RuleConfig("placeholder", "block")]
ADDRESS_RULES = [RuleConfig("placeholder", "block"), RuleConfig("recipient_syntax", "block")]


def apply_suggestions(text: str, findings: list[CheckFinding], field: str = "body") -> str:
    """The text with every suggested fix applied, last span first so offsets stay right."""
    fixes = [
        (f.start, f.end, f.suggestion)
        for f in findings
        if f.field == field and f.suggestion is not None and f.start is not None
        and f.end is not None
    ]
    for start, end, suggestion in sorted(fixes, key=lambda fix: fix[0], reverse=True):
        text = text[:start] + suggestion + text[end:]
    return text
