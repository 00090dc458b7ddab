"""`outtake reanalyse [--all | ASSET...]` (registered by cli.py): analyse ready assets again
with the current pipeline, skipping those its version already analysed."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.progress import track

console = Console(stderr=True)


def reanalyse(
    assets: list[str] = typer.Argument(None, help="Asset ids (or --all)."),
    all_stale: bool = typer.Option(
        False, "--all", help="Every ready asset not analysed by the current pipeline version."
    ),
    force: bool = typer.Option(False, "--force", help="Even assets the current version did."),
    queue: bool = typer.Option(
        False, "--queue", help="Queue one task per asset for the workers instead of running here."
    ),
) -> None:
    """Analyse assets again; each is done (or fails) on its own, so a crash costs one asset."""
    from outtake.cli import _django

    _django()
    from outtake.catalog import services
    from outtake.catalog.tasks import reanalyse_asset

    if bool(assets) == all_stale:
        console.print("[red]name assets or pass --all[/red]")
        raise typer.Exit(2)
    version = services.analysis_version()
    ids = assets or [str(pk) for pk in services.stale_assets(version).values_list("id", flat=True)]
    if queue:
        for asset_id in ids:
            reanalyse_asset(asset_id, force=force)
        console.print(f"{len(ids)} asset(s) queued for {version}")
        return
    done = current = 0
    failed: list[str] = []
    for asset_id in track(ids, description="reanalysing", console=console):
        try:
            if services.reanalyse(asset_id, force=force):
                done += 1
            else:
                current += 1
        except Exception as exc:  # one asset's failure must not stop the others
            failed.append(asset_id)
            console.print(f"[red]{asset_id}[/red]: {exc}")
    console.print(f"{done} reanalysed, {current} already current, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(reanalyse)
