"""Default validation rules, the reviewer and operator groups, and the append-only audit trail."""

from django.db import migrations

from apps.core.permissions import grant

DEFAULT_RULES = [
    ("legal_form", "block", "A company legal form (Inc., GmbH, Ltd …) left in the subject or body."),
    ("placeholder", "block", "A placeholder left unresolved ({{first_name}}, %FIRSTNAME% …)."),
    ("recipient_syntax", "block", "The recipient address is not a valid e-mail address."),
    (
        "recipient_domain",
        "block",
        "The recipient's domain cannot receive mail. A lookup that cannot tell is review.",
    ),
]

# Reviewers work batches and messages; operators also configure rules and clients.
REVIEWER_PERMS = [
    "view_client", "view_campaign", "view_prospect", "view_batch", "change_batch",
    "view_message", "change_message", "view_finding", "view_auditevent",
    "view_validationrule", "view_deliveryattempt",
]
OPERATOR_PERMS = REVIEWER_PERMS + [
    "add_client", "change_client", "add_campaign", "change_campaign", "add_prospect",
    "change_prospect", "add_batch", "change_validationrule", "add_clientuser",
    "change_clientuser", "view_clientuser",
]

APPEND_ONLY_SQL = {
    "postgresql": [
        """CREATE OR REPLACE FUNCTION core_auditevent_append_only() RETURNS trigger AS $$
           BEGIN RAISE EXCEPTION 'audit events are append-only'; END; $$ LANGUAGE plpgsql""",
        """CREATE TRIGGER core_auditevent_no_update BEFORE UPDATE OR DELETE ON core_auditevent
           FOR EACH ROW EXECUTE FUNCTION core_auditevent_append_only()""",
    ],
    "sqlite": [
        """CREATE TRIGGER core_auditevent_no_update BEFORE UPDATE ON core_auditevent
           BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
        """CREATE TRIGGER core_auditevent_no_delete BEFORE DELETE ON core_auditevent
           BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
    ],
}


def seed(apps, schema_editor):
    ValidationRule = apps.get_model("core", "ValidationRule")
    for code, severity, description in DEFAULT_RULES:
        ValidationRule.objects.get_or_create(
            code=code, defaults={"severity": severity, "description": description}
        )

    grant(apps, "core", {"reviewer": REVIEWER_PERMS, "operator": OPERATOR_PERMS})


def append_only(apps, schema_editor):
    for statement in APPEND_ONLY_SQL.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
        migrations.RunPython(append_only, migrations.RunPython.noop),
    ]
