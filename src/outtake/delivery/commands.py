"""`outtake verify PACKAGE` (registered by cli.py): a lab's offline check of a delivered package.

No Django: it runs where the lab keeps the package, with Outtake's root certificate."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

console = Console(stderr=True)


def _default_root() -> Path:
    return Path(os.environ.get("OUTTAKE_HOME", "var")).resolve() / "pki" / "root.pem"


def verify(
    package: str = typer.Argument(..., help="A package folder, or s3://bucket/prefix."),
    ca: Path | None = typer.Option(
        None, "--ca", help="Outtake's root certificate (default: OUTTAKE_HOME/pki/root.pem)."
    ),
    endpoint_url: str | None = typer.Option(
        None, "--endpoint-url", help="An S3-compatible endpoint (AWS_* variables for the keys)."
    ),
) -> None:
    """Check a delivered package offline: signature, hashes, shards, C2PA, XMP, Croissant."""
    from outtake.provenance.verify_package import open_package
    from outtake.provenance.verify_package import verify as verify_package

    root = ca or _default_root()
    if not root.is_file():
        console.print(f"[red]no root certificate at {root}[/red]: pass --ca FILE")
        raise typer.Exit(2)
    try:
        files = open_package(package, endpoint_url)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    checks = verify_package(files, root.read_bytes())
    table = Table("check", "result", "detail", title=f"outtake verify {package}")
    for check in checks:
        result = "[green]ok[/green]" if check.ok else "[red]FAILED[/red]"
        table.add_row(check.name, result, check.detail)
    Console().print(table)
    raise typer.Exit(0 if all(c.ok for c in checks) else 1)


def register(app: typer.Typer) -> None:
    app.command()(verify)
