"""Thin jobs for client webhooks: ids in, one service called, safe to run twice."""

from apps.clienthooks.services import deliveries_fan_out, delivery_attempt


def deliver_webhook(delivery_id: int) -> None:
    delivery_attempt(delivery_id=delivery_id)


def fan_out_webhooks() -> dict[str, int]:
    return deliveries_fan_out()
