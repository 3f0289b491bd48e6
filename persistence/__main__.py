"""Command line: ``python -m persistence {demo,setup,migrate,seed,audit,aerich-config,grant}``.

With ``MUD_DATABASE_URL`` set the commands work on that database (``migrate`` on
``MUD_MIGRATION_DATABASE_URL`` when that is set, alone or with it). Without a URL they run on
an embedded throwaway PostgreSQL that is deleted on exit, so ``setup`` (migrate, then seed, in
one run) is the command that shows the whole job there; set ``MUD_EMBEDDED_DATA_DIR`` to keep
it. ``audit`` refuses to run on a throwaway server: there would be nothing to audit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

from persistence.demo import main_demo
from persistence.errors import ConfigurationError, PersistenceError
from persistence.facade import AsyncPersistenceLayer
from persistence.schema import (
    app_role_grants,
    grant_app_role,
    migrations_location,
    run_migrations,
)
from persistence.settings import PersistenceSettings


def _describe_target(settings: PersistenceSettings, *, migrating: bool = False) -> str:
    if migrating and settings.migration_database_url:
        return "the database at MUD_MIGRATION_DATABASE_URL"
    if settings.database_url:
        return "the database at MUD_DATABASE_URL"
    where = settings.embedded_data_dir or "a temporary folder, deleted on exit"
    return f"an embedded PostgreSQL ({where})"


async def _audit() -> int:
    settings = PersistenceSettings()
    if not settings.database_url and settings.embedded_data_dir is None:
        # Without a URL the layer would start an empty throwaway server: auditing it would
        # report "every invariant holds" about nothing.
        print(
            "error: set MUD_DATABASE_URL to the database to audit (or MUD_EMBEDDED_DATA_DIR "
            "to the folder of an embedded server kept across runs); without either, the "
            "audit would start an empty throwaway PostgreSQL and check nothing",
            file=sys.stderr,
        )
        return 2
    async with AsyncPersistenceLayer(settings, migrate=False) as layer:
        print(f"Auditing {_describe_target(settings)} ({layer.db.describe()}).")
        report = await layer.audit()
    print(report)
    return 0 if report.ok else 1


def _aerich_config(output: Path) -> int:
    location = migrations_location()
    output.write_text(
        "# aerich >= 0.6 reads this file as TOML: run `aerich -c "
        f"{output.name} upgrade` with MUD_DATABASE_URL set.\n"
        "# Written by `python -m persistence aerich-config` for the installed package.\n"
        "[tool.aerich]\n"
        'tortoise_orm = "persistence.config.TORTOISE_ORM"\n'
        f"location = {json.dumps(str(location))}\n"
        'src_folder = "."\n'
    )
    print(f"Wrote {output}: MUD_DATABASE_URL=postgres://... aerich -c {output} upgrade")
    return 0


def _report(applied: list[str]) -> None:
    if applied:
        print(f"Applied {len(applied)} migration(s):")
        for name in applied:
            print(f"  - {name}")
    else:
        print("The schema is up to date: no migration to apply.")


async def _run(command: str, world: Path | None) -> None:
    settings = PersistenceSettings()
    migrating = command in {"migrate", "setup"}
    if command != "migrate" and settings.migration_database_url and not settings.database_url:
        # Seeding writes through the layer's URL; without it, it would seed a throwaway
        # embedded server while the migrations went to the real database.
        raise ConfigurationError(
            f"`{command}` writes the world through MUD_DATABASE_URL, which is not set "
            "(MUD_MIGRATION_DATABASE_URL is only for migrations): set MUD_DATABASE_URL too, "
            "or run `python -m persistence migrate` alone"
        )
    print(f"Using {_describe_target(settings, migrating=command == 'migrate')}.")
    direct = settings.direct_url
    if migrating and direct:
        # A configured database: migrate through the direct URL before any pooled
        # connection exists (connections opened later get the settings the migration sets).
        _report(await run_migrations(direct, settings))
        if command == "migrate":
            return
        migrating = False
    layer = AsyncPersistenceLayer(settings, migrate=False)
    await layer.db.start()
    try:
        if migrating:  # the embedded server: it exists once started
            _report(await run_migrations(layer.db.direct_url, settings))
        if command in {"seed", "setup"}:
            await layer.rooms.load()
            result = await layer.seed_world(world)
            source = world or "the sample world"
            print(
                f"Seeded {result.rooms} rooms and {result.professions} professions from {source}."
            )
            print(f"Room cache: {layer.rooms.size} rooms loaded.")
            for profession in await layer.professions.get_all_professions():
                print(f"  profession {profession.id}: {profession.name}")
    finally:
        await layer.close()


async def _grant(role: str) -> int:
    settings = PersistenceSettings()
    url = settings.direct_url
    if not url:
        print("error: set MUD_MIGRATION_DATABASE_URL (or MUD_DATABASE_URL)", file=sys.stderr)
        return 1
    await grant_app_role(url, role)
    print(f"Granted {role} read and write on the package's tables (no DDL):")
    for statement in app_role_grants(role):
        print(f"  {statement};")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m persistence`` and the ``mud-persistence`` script."""
    parser = argparse.ArgumentParser(prog="python -m persistence", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo", help="simulate a small MUD for a while, then audit the database (the main job)"
    )
    demo.add_argument("--duration", type=float, default=20.0, help="seconds of play [20]")
    demo.add_argument("--players", type=int, default=200, help="number of players [200]")
    demo.add_argument(
        "--url", default=None, help="database URL (default: MUD_DATABASE_URL or embedded)"
    )
    sub.add_parser("setup", help="migrate the database, then seed the world")
    sub.add_parser(
        "audit",
        help="check every invariant of MUD_DATABASE_URL's database; exit 1 when one is broken",
    )
    aerich = sub.add_parser(
        "aerich-config", help="write an aerich config for the installed package's migrations"
    )
    aerich.add_argument(
        "--output", type=Path, default=Path("mud-aerich.toml"), help="[mud-aerich.toml]"
    )
    sub.add_parser("migrate", help="apply pending aerich migrations")
    grant = sub.add_parser(
        "grant", help="let a role run the layer with no more rights (run as the tables' owner)"
    )
    grant.add_argument("role", help="the game server's role (created beforehand)")
    seed = sub.add_parser("seed", help="load rooms and professions from a world folder")
    for p in (seed, sub.choices["setup"]):
        p.add_argument("--world", type=Path, default=None, help="world folder (default: sample)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "demo":
        if args.duration <= 0 or args.players < 2:
            parser.error("--duration must be positive and --players at least 2")
        try:
            return main_demo(args.duration, args.players, args.url)
        except PersistenceError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    if args.command == "aerich-config":
        return _aerich_config(args.output)
    try:
        if args.command == "audit":
            return asyncio.run(_audit())
        if args.command == "grant":
            return asyncio.run(_grant(args.role))
        asyncio.run(_run(args.command, getattr(args, "world", None)))
    except PersistenceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
