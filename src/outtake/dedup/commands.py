"""`outtake hashes`, `outtake exclude` and `outtake dedup rebuild` (registered by cli.py).

hashes and exclude run on a lab's or creator's own machine: no Django, only hashes leave it."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import track

console = Console(stderr=True)
dedup_app = typer.Typer(help="Deduplication index.", no_args_is_help=True)


def hashes(
    folder: Path = typer.Argument(..., exists=True, file_okay=False),
    output: Path = typer.Option(Path("outtake-hashes.jsonl"), "--output", "-o"),
) -> None:
    """Hash every video and photo under FOLDER into a file for a hash list upload."""
    from outtake.media.dedup.hashes import hash_media
    from outtake.media.dedup.lists import write_entry, write_header
    from outtake.media.errors import MediaError
    from outtake.media.files import media_files
    from outtake.media.hashing import sha256_file

    lines, skipped = [write_header()], 0
    for path in track(list(media_files(folder)), description="hashing", console=console):
        try:
            shots = hash_media(path)
        except MediaError:
            skipped += 1
            continue
        lines.append(write_entry(str(path.relative_to(folder)), sha256_file(path), shots))
    output.write_text("\n".join(lines) + "\n")
    console.print(f"{len(lines) - 1} files hashed, {skipped} skipped → {output}")


def exclude(
    hash_files: list[Path] = typer.Argument(..., exists=True, dir_okay=False),
    quote: str = typer.Option(..., "--quote", help="Quote id."),
    server: str = typer.Option("http://127.0.0.1:8000", "--server"),
    token: str = typer.Option(..., "--token", envvar="OUTTAKE_TOKEN"),
    kind: str = typer.Option("auto", help="sha256, pdq or auto (outtake hashes files)."),
) -> None:
    """Match a quote's clips against local hash files; send back only the ids to exclude."""
    import numpy as np
    import requests

    from outtake.media.dedup import lists
    from outtake.media.dedup.matcher import Signature, Thresholds

    parsed = [lists.parse(path.read_text(), kind) for path in hash_files]
    sha256 = set().union(*(p.sha256 for p in parsed))
    index = lists.bag_index(np.concatenate([p.frames for p in parsed]))
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    base = server.rstrip("/") + f"/api/dedup/quotes/{quote}"
    candidates = session.get(base + "/candidates", timeout=60)
    candidates.raise_for_status()
    found = [
        clip["clip_id"]
        for clip in candidates.json()["clips"]
        if clip["sha256"] in sha256
        or lists.match_against_bag(Signature.from_frames(clip["frames"]), index, Thresholds())
    ]
    if not found:
        console.print("none of the quote's clips is in these files")
        return
    answer = session.post(base + "/exclude", json={"clip_ids": found}, timeout=60)
    answer.raise_for_status()
    new = answer.json()
    console.print(f"{len(found)} clips excluded; new quote {new['id']}")
    typer.echo(new["id"])


@dedup_app.command("rebuild")
def rebuild() -> None:
    """Rebuild the frame hash index from the database, and copy hash lists held only on this
    machine (uploaded before lists were kept in blob storage) into it."""
    from outtake.cli import _django

    _django()
    from outtake.dedup.services import publish_local_lists, rebuild_index

    for list_id in publish_local_lists():
        console.print(f"hash list {list_id} copied from this machine into blob storage")
    console.print(f"{rebuild_index()} index entries")


def register(app: typer.Typer) -> None:
    app.command()(hashes)
    app.command()(exclude)
    app.add_typer(dedup_app, name="dedup")
