"""The portal's periodic job (registered in the cron schedule)."""

from apps.portal.notifications import notify_clients as send_due_notifications


def notify_clients() -> None:
    send_due_notifications()
