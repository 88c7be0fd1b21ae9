"""The demo data seed_demo creates: two clients, staff and client logins, flagged batches."""

DEMO_PASSWORD = "demo-pass-2026"

# (username, role, client name or None)
DEMO_USERS = [
    ("oscar", "operator", None),
    ("rita", "reviewer", None),
    ("carl", "client", "Acme Outreach"),
    ("dana", "client", "Globex Growth"),
]

DEMO_CLIENTS = [
    # name, tier, review policy
    ("Acme Outreach", "standard", "review_all"),
    ("Globex Growth", "priority", "auto_approve_clean"),
]

# Prospects as CRM exports deliver them: legal forms in the company column.
DEMO_PROSPECTS = {
    "Acme Outreach": [
        ("peter.gibbons@gmail.com", "Peter", "Gibbons", "Initech Inc.", "Engineer"),
        ("samir.n@outlook.com", "Samir", "Nagheenanajar", "Initrode GmbH", "Developer"),
        ("joanna@yahoo.com", "Joanna", "", "Chotchkie's", "Server"),
        ("bill.lumbergh@gmail.com", "Bill", "Lumbergh", "Penetrode Ltd", "VP"),
    ],
    "Globex Growth": [
        ("hank.scorpio@gmail.com", "Hank", "Scorpio", "Globex", "CEO"),
        ("frank.grimes@outlook.com", "Frank", "Grimes", "Springfield Power", "Safety"),
    ],
}

DEMO_CAMPAIGN = {
    "name": "Autumn intro",
    "subject_template": "A quick idea for {{ company }}",
    "body_template": (
        "Hi {{ first_name|default:'there' }},\n\n"
        "I noticed {{ company }} is growing its team. We help teams like yours review\n"
        "automated outbound before it goes out.\n\n"
        "Would a 15-minute call next week be useful?\n\n"
        "{{ sender_name }}\n"
    ),
    "sender_name": "Sam Sender",
}
