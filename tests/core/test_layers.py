"""The layers of docs/architecture.md hold: core models <- stages <- planning and jobs <- user
interfaces, and all staff admin is in apps/backoffice/admin/. Read from the source, not run."""

import ast
from pathlib import Path

from django.conf import settings

APPS = Path(settings.BASE_DIR, "apps")
CORE = {"core"}
STAGES = {"generation", "validation", "review", "sending", "deliverability"}
# Reads the stages' records to plan: the roster, quotes, commitments (docs/planning.md).
PLANNING = {"planning"}
JOBS = {"pipeline", "clienthooks"}
INTERFACES = {"backoffice", "portal", "health"}
# Middleware under every interface (login throttling, headers, hostile input).
CROSS_CUTTING = {"security"}
MAY_IMPORT = {
    **{app: CORE for app in CORE},
    **{app: CORE | STAGES for app in STAGES},
    **{app: CORE | STAGES for app in PLANNING},
    **{app: CORE | STAGES for app in JOBS},
    **{app: CORE | STAGES | PLANNING | JOBS | CROSS_CUTTING for app in INTERFACES},
    # The staff admin issues and revokes the clients' API tokens through the portal's services.
    "backoffice": CORE | STAGES | PLANNING | JOBS | CROSS_CUTTING | {"portal"},
    **{app: CORE for app in CROSS_CUTTING},
}


def _imported_apps(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        found |= {name.split(".")[1] for name in names if name.startswith("apps.")}
    return found


def test_every_app_imports_only_its_own_layer_and_below():
    apps = {p.name for p in APPS.iterdir() if (p / "apps.py").exists()}
    assert apps == set(MAY_IMPORT), "name each app's layer here and in docs/architecture.md"
    upward = []
    for app, allowed in MAY_IMPORT.items():
        for path in (APPS / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for imported in _imported_apps(path) - allowed - {app}:
                upward.append(f"{path.relative_to(APPS.parent)} imports apps.{imported}")
    assert upward == []


def test_all_staff_admin_is_in_the_backoffice_admin_package():
    elsewhere = [
        str(path.relative_to(APPS.parent)) for path in APPS.rglob("admin*.py")
        if path.parent != APPS / "backoffice" / "admin"
    ]
    assert elsewhere == []
    assert not list(APPS.glob("*/templates/admin")), "admin templates live in templates/admin/"
