"""The `tilcare` command: run the demo, serve the application, and every Django management command.

    tilcare demo [--port 8000] [--data-dir DIR] [--no-serve]
    tilcare serve [--host 127.0.0.1] [--port 8000] [--development]
    tilcare migrate | tilcare audit verify | tilcare adduser | tilcare <command> ...

Also runnable as `python -m tilcare.cli`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

DEV_SETTINGS = "tilcare.config.settings.dev"
# Only these files are the demo database; anything else in the data folder is left alone.
DEMO_DATABASE_FILES = ("tilcare.sqlite3", "tilcare.sqlite3-wal", "tilcare.sqlite3-shm")

USAGE = f"""\
usage: tilcare <command> [options]

  demo [--port 8000] [--data-dir DIR] [--no-serve]
                     start afresh with the demo center and patients, then serve it
  serve [--host 127.0.0.1] [--port 8000] [--development]
                     serve the configured database with gunicorn (2 workers, 4 threads);
                     with the development settings only when --development is given
  migrate            create or update the database tables (as the tables' owner when
                     TILCARE_MIGRATION_DATABASE_URL is set, then grant the application's role)
  audit verify       recompute the audit chain, check it against the signed checkpoints and
                     every regulated record; exits non-zero and names the first problem
  audit checkpoint   verify, then write a signed checkpoint of the chain's end
                     (TILCARE_AUDIT_CHECKPOINT_DIR, TILCARE_AUDIT_CHECKPOINT_KEY_FILE)
  createtoken USER --name NAME [--days 90] [--scope read|read_write]
                     issue an API token (expires; at most 365 days)
  tokens list [--user USER] | tokens revoke PREFIX
                     review API tokens (scope, expiry, last use) or revoke one
  adduser, addorg, shell, check, ...
                     any other Django management command (`tilcare help` lists them)

Configuration comes from the environment: DJANGO_SETTINGS_MODULE (default {DEV_SETTINGS}),
DATABASE_URL, TILCARE_DATA_DIR, TILCARE_SECRET_KEY, TILCARE_ALLOWED_HOSTS.
"""


def remove_demo_database(data_dir: Path) -> list[Path]:
    """Delete the previous demo SQLite database (and its WAL files) in `data_dir`, nothing else."""
    removed = []
    for name in DEMO_DATABASE_FILES:
        path = data_dir / name
        if path.is_file():
            path.unlink()
            removed.append(path)
    return removed


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", DEV_SETTINGS)
    import django

    django.setup()


def _gunicorn(host: str, port: int, *, access_log: bool) -> int:
    """Replace this process with gunicorn, so signals from the terminal or systemd reach it."""
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "tilcare.config.wsgi:application",
        "--bind",
        f"{host}:{port}",
        "--workers",
        "2",
        "--threads",
        "4",
    ]
    if access_log:
        argv += ["--access-logfile", "-"]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)
    return 0  # not reached: execv does not return


def _logins_table() -> str:
    from tilcare.demo.people import DEMO_USERS

    rows = [("username", "role", "organization", "name")]
    rows += [(u.username, u.role.label, u.organization_name, u.printed_name) for u in DEMO_USERS]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  " + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def demo(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="tilcare demo",
        description="Start afresh with the demo center, staff and patients, then serve it.",
    )
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path.cwd() / "tilcare-data",
        help="folder for the demo SQLite database (default: ./tilcare-data)",
    )
    parser.add_argument(
        "--no-serve", action="store_true", help="prepare the demo database and exit"
    )
    args = parser.parse_args(argv)
    data_dir = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", DEV_SETTINGS)
    os.environ["TILCARE_DATA_DIR"] = str(data_dir)
    if os.environ.pop("DATABASE_URL", None):
        # The demo never writes to a configured (possibly real) database.
        print("Ignoring DATABASE_URL: the demo uses its own SQLite file in the data folder.")
    remove_demo_database(data_dir)
    _setup_django()
    from django.conf import settings
    from django.core.management import call_command
    from django.core.management.base import CommandError

    from tilcare.demo.people import DEMO_PASSWORD

    call_command("migrate", interactive=False, verbosity=0)
    try:
        call_command("load_demo")
    except CommandError as exc:
        print(f"tilcare demo: {exc}", file=sys.stderr)
        return 1
    # Static files are served from the installed package (whitenoise finders); the empty
    # collectstatic folder only spares the demo a warning on every worker start.
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    from django.utils import timezone

    from tilcare.demo.logger_files import write_product_logger_files

    loggers = write_product_logger_files(data_dir, timezone.now())
    url = f"http://127.0.0.1:{args.port}/"
    print()
    print(f"tilcare demo: {url}")
    print(f"Data folder: {data_dir} (demo data only, never real patients)")
    for logger in loggers:
        print(f"Logger file of the product shipper in transit (to upload at receipt): {logger}")
    print()
    print(f"Demo logins (every account's password: {DEMO_PASSWORD})")
    print(_logins_table())
    print()
    if args.no_serve:
        print(
            f"Database ready. Serve it with: TILCARE_DATA_DIR={data_dir} "
            "tilcare serve --development"
        )
        return 0
    from django.db import connections

    connections.close_all()
    print(f"Serving on {url} — press Ctrl+C to stop.")
    return _gunicorn("127.0.0.1", args.port, access_log=False)


def serve(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="tilcare serve",
        description="Serve tilcare with gunicorn (2 workers, 4 threads). Put it behind a "
        "reverse proxy that terminates TLS.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--development",
        action="store_true",
        help=f"allow the development settings ({DEV_SETTINGS}: a public secret key, never for "
        "patient data), e.g. to serve the demo",
    )
    args = parser.parse_args(argv)
    settings_module = os.environ.get("DJANGO_SETTINGS_MODULE") or DEV_SETTINGS
    if settings_module == DEV_SETTINGS and not args.development:
        print(
            f"tilcare serve: refusing to serve with the development settings ({DEV_SETTINGS}), "
            "whose secret key is public. Set DJANGO_SETTINGS_MODULE=tilcare.config.settings.prod "
            "with TILCARE_SECRET_KEY and TILCARE_ALLOWED_HOSTS (docs/deployment.md), or pass "
            "--development to serve demo data only.",
            file=sys.stderr,
        )
        return 2
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    return _gunicorn(args.host, args.port, access_log=True)


def migrate(argv: Sequence[str]) -> int:
    """Migrate as the tables' owner when TILCARE_MIGRATION_DATABASE_URL is set, then give the
    application's role (the user of DATABASE_URL) its privileges: it owns nothing, so it cannot
    disable the audit trail's append-only triggers. Without that variable (SQLite, or one role),
    or with an explicit --database, this is Django's migrate."""
    owner_url = os.environ.get("TILCARE_MIGRATION_DATABASE_URL")
    if not owner_url or any(a == "--database" or a.startswith("--database=") for a in argv):
        return manage(["migrate", *argv])
    import dj_database_url

    app = dj_database_url.parse(os.environ.get("DATABASE_URL") or "sqlite://:memory:")
    owner = dj_database_url.parse(owner_url)
    where = ("HOST", "PORT", "NAME")
    if not app.get("USER") or [app.get(k) for k in where] != [owner.get(k) for k in where]:
        print(
            "tilcare migrate: DATABASE_URL (the application's role) and "
            "TILCARE_MIGRATION_DATABASE_URL (the tables' owner) must name the same database, "
            "each with its user.",
            file=sys.stderr,
        )
        return 2
    # Every migration, a data migration's writes included, runs on the owner's one connection.
    os.environ["DATABASE_URL"] = owner_url
    manage(["migrate", *argv])
    return manage(["db", "grant-app-role", str(app["USER"])])


def manage(argv: Sequence[str]) -> int:
    """Any other command goes to Django's management commands (`tilcare audit verify`, …)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", DEV_SETTINGS)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["tilcare", *argv])
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    command, rest = args[0], args[1:]
    if command == "demo":
        return demo(rest)
    if command == "serve":
        return serve(rest)
    if command == "migrate":
        return migrate(rest)
    if command == "createsuperuser":
        # Django's command writes an account with no audit event and no role: verification would
        # name it as written outside the audit trail, and it could see nothing anyway.
        print(
            "tilcare createsuperuser: not used here. Every account holds one role in one "
            "organization and is created through the audit trail: tilcare adduser USERNAME --org "
            '"ORGANIZATION" --role ROLE (tilcare adduser --help).',
            file=sys.stderr,
        )
        return 2
    return manage([command, *rest])


if __name__ == "__main__":
    sys.exit(main())
