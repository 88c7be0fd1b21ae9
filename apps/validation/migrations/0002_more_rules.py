"""The recipient, content and batch rules of issue 3, and who may override rules per client."""

from django.db import migrations

from apps.core.permissions import grant

NEW_RULES = [
    ("recipient_noreply", "block", "The recipient is a no-reply mailbox nobody reads."),
    ("recipient_role", "review", "The recipient is a shared role inbox (info@, sales@ …)."),
    ("recipient_disposable", "block", "The recipient's provider is a throw-away mail service."),
    ("recipient_relay", "review", "The recipient is a privacy relay (slmail.me …)."),
    ("recipient_typo", "review", "The domain looks like a typo of a major provider."),
    ("recipient_homograph", "review", "The domain mixes scripts (a look-alike domain)."),
    ("generic_greeting", "review", "A greeting that names nobody (Dear Sir/Madam …)."),
    ("empty_content", "block", "The subject or body is empty."),
    ("content_length", "review", "The subject or body is longer than the set limit."),
    ("header_injection", "block", "A line break in the subject."),
    ("banned_phrase", "review", "A phrase on the operator's list (parameters: phrases, patterns)."),
    ("opt_out", "block", "No opt-out line where the client requires one (parameter required)."),
    ("duplicate_recipient", "block", "The same recipient twice in one batch."),
    ("suppressed", "block", "The recipient is on the client's or the global suppression list."),
]


def seed(apps, schema_editor):
    ValidationRule = apps.get_model("core", "ValidationRule")
    for code, severity, description in NEW_RULES:
        ValidationRule.objects.get_or_create(
            code=code, defaults={"severity": severity, "description": description}
        )

    grant(apps, "validation", {
        "operator": ["view_ruleoverride", "add_ruleoverride", "change_ruleoverride",
                     "delete_ruleoverride"],
        "reviewer": ["view_ruleoverride"],
    })


class Migration(migrations.Migration):
    dependencies = [("validation", "0001_rule_override"), ("core", "0005_suppression_permissions")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
