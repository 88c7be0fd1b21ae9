"""Per-client adjustments to the operator's validation rules."""

from django.db import models

from apps.core.models import Client, Severity, ValidationRule


class RuleOverride(models.Model):
    """One client's version of a rule: what is set here wins, what is left empty follows the
    rule (so a later change to the rule still reaches the client).

    Parameters are merged key by key over the rule's: {"required": true} on opt_out makes the
    opt-out line mandatory for this client and keeps the rule's list of phrases.
    """

    rule = models.ForeignKey(ValidationRule, on_delete=models.CASCADE, related_name="overrides")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="rule_overrides")
    enabled = models.BooleanField(null=True, blank=True, help_text="Empty: as the rule.")
    severity = models.CharField(
        max_length=10, choices=Severity.choices, blank=True, help_text="Empty: as the rule."
    )
    parameters = models.JSONField(
        default=dict, blank=True, help_text="Merged over the rule's parameters, key by key."
    )
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "client"], name="rule_override_once_per_client"
            ),
            models.CheckConstraint(
                condition=models.Q(severity__in=["", *Severity.values]),
                name="rule_override_severity_known",
                violation_error_message="Unknown severity.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule.code} for {self.client}"
