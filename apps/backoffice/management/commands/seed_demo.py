"""Create the demo: clients, logins, campaigns and prospects, and start one batch per client."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from apps.backoffice.demo import (
    DEMO_CAMPAIGN,
    DEMO_CLIENTS,
    DEMO_PASSWORD,
    DEMO_PROSPECTS,
    DEMO_USERS,
)
from apps.core.models import Campaign, Client, ClientUser, Prospect
from apps.generation.services import batch_start
from apps.planning.models import Shift, Weekday


class Command(BaseCommand):
    help = "Seed demo clients, users, campaigns and prospects, and start a batch per client."

    def add_arguments(self, parser):
        parser.add_argument("--no-batches", action="store_true", help="Do not start any batch.")

    def handle(self, *args, **options):
        with transaction.atomic():
            clients = self._clients()
            operator = self._users(clients)
            self._roster()
            campaigns = self._campaigns(clients)
        if not options["no_batches"]:
            for campaign in campaigns:
                if not campaign.batches.exists():
                    batch_start(
                        campaign=campaign, prospects=campaign.client.prospects.all(), actor=operator
                    )
        self.stdout.write(
            self.style.SUCCESS(f"Demo ready. Logins (password for all: {DEMO_PASSWORD}):")
        )
        for username, role, client in DEMO_USERS:
            where = "admin (/admin/)" if client is None else f"portal (/portal/), client {client}"
            self.stdout.write(f"  {username:<6} {role:<9} {where}")

    def _clients(self) -> dict[str, Client]:
        clients = {}
        for name, tier, policy in DEMO_CLIENTS:
            clients[name], _ = Client.objects.get_or_create(
                name=name, defaults={"tier": tier, "review_policy": policy}
            )
        return clients

    def _users(self, clients):
        User = get_user_model()
        operator = None
        for username, role, client_name in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username)
            if created:
                user.set_password(DEMO_PASSWORD)
            user.is_staff = client_name is None
            user.email = f"{username}@outbound.localhost"
            user.save()
            if client_name is None:
                user.groups.add(Group.objects.get(name=role))
            else:
                ClientUser.objects.get_or_create(
                    user=user, defaults={"client": clients[client_name]}
                )
            if role == "operator":
                operator = user
        return operator

    def _roster(self) -> None:
        """The demo's reviewers on the roster around the clock, so that a batch tried at any
        hour is quoted from the queue and the roster (docs/planning.md), not the bare target."""
        reviewers = get_user_model().objects.filter(groups__name="reviewer")
        for reviewer in reviewers:
            for weekday in Weekday.values:
                Shift.objects.get_or_create(
                    reviewer=reviewer, weekday=weekday, defaults={"start_hour": 0, "end_hour": 24}
                )

    def _campaigns(self, clients) -> list[Campaign]:
        campaigns = []
        for name, client in clients.items():
            for email, first, last, company, title in DEMO_PROSPECTS[name]:
                Prospect.objects.get_or_create(
                    client=client,
                    email=email,
                    defaults={
                        "first_name": first,
                        "last_name": last,
                        "company": company,
                        "title": title,
                    },
                )
            campaign, _ = Campaign.objects.get_or_create(
                client=client,
                name=DEMO_CAMPAIGN["name"],
                defaults={
                    **DEMO_CAMPAIGN,
                    "sender_email": f"sam@{name.split()[0].lower()}.example",
                },
            )
            campaigns.append(campaign)
        return campaigns
