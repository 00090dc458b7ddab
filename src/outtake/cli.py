"""The `outtake` command: serve, worker, init, user, upload, manage."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import typer
from rich.console import Console

from outtake.catalog.commands import register as register_catalog
from outtake.dedup.commands import register as register_dedup
from outtake.delivery.commands import register as register_delivery

app = typer.Typer(help="Outtake: license unpublished footage to AI labs.", no_args_is_help=True)
user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
app.add_typer(user_app, name="user")
payouts_app = typer.Typer(help="Pay creators.", no_args_is_help=True)
app.add_typer(payouts_app, name="payouts")
bank_app = typer.Typer(help="Bank statements.", no_args_is_help=True)
app.add_typer(bank_app, name="bank")
console = Console(stderr=True)


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outtake.config.settings")
    import django
    from django.apps import apps

    # Set up once: a second setup reconfigures logging, closing every handler's stream
    # (absl's among them), which breaks a process that already runs Django, such as the tests.
    if not apps.ready:
        django.setup()


def _init(quiet: bool = False) -> None:
    _django()
    from django.conf import settings
    from django.core.management import call_command

    from outtake.provenance.ca import ensure_root

    call_command("migrate", interactive=False, verbosity=0 if quiet else 1)
    root = ensure_root(settings.OUTTAKE_PKI_DIR)
    if not quiet:
        console.print(f"[green]ready[/green]: home {settings.OUTTAKE_HOME}, CA {root.cert_path}")


@app.command()
def init() -> None:
    """Create the database schema, secret key and certificate authority (idempotent)."""
    _init()


@app.command()
def serve(
    host: str = typer.Option(os.environ.get("OUTTAKE_HOST", "127.0.0.1"), help="Bind address."),
    port: int = typer.Option(int(os.environ.get("OUTTAKE_PORT", "8000")), help="Port."),
    worker: bool = typer.Option(True, help="Also run a background worker."),
) -> None:
    """Run the whole exchange: web, API, uploads and a worker, until Ctrl-C."""
    _init(quiet=True)
    env = {**os.environ, "OUTTAKE_PORT": str(port)}
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "outtake.config.asgi:application",
                "--host",
                host,
                "--port",
                str(port),
                "--no-access-log" if os.environ.get("OUTTAKE_QUIET") else "--access-log",
                "--timeout-graceful-shutdown",
                "5",
            ],
            env=env,
        )
    ]
    if worker:
        children.append(subprocess.Popen([sys.executable, "-m", "outtake.cli", "worker"], env=env))
    console.print(
        f"[bold]Outtake[/bold] on http://{host}:{port}/  (API docs at /api/docs, "
        f"uploads at /uploads/) — Ctrl-C stops it"
    )
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping:
        for child in children:
            if child.poll() is not None:
                console.print(f"[red]a child process exited with {child.returncode}[/red]")
                stopping, code = True, child.returncode or 1
        time.sleep(0.3)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 10
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    raise typer.Exit(code)


@app.command()
def worker(workers: int = typer.Option(2, help="Worker threads.")) -> None:
    """Run background jobs (ingest, deliveries) from the queue."""
    _django()
    from django.core.management import call_command

    call_command("run_huey", workers=workers, worker_type="thread")


@user_app.command("create")
def user_create(
    role: str = typer.Option(..., help="creator, buyer or reviewer"),
    email: str = typer.Option(...),
    password: str = typer.Option(..., prompt=True, hide_input=True),
    org: str = typer.Option("", help="Organization name (default: from the e-mail)."),
) -> None:
    """Create a user in their own organization and print a JSON object with a new API token."""
    _init(quiet=True)
    from outtake.accounts.services import AccountError, create_token, create_user

    try:
        user = create_user(email, password, role, org_name=org)
    except AccountError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    token = create_token(user, "cli")
    typer.echo(
        json.dumps(
            {
                "id": user.id,
                "email": user.email,
                "role": user.role,
                "organization_id": str(user.organization_id),
                "token": token.raw,
                "scopes": token.token.scopes,
            }
        )
    )


def _can_ask() -> bool:
    """Whether someone at a terminal can answer a question."""
    return sys.stdin.isatty()


@app.command()
def upload(
    directory: Path = typer.Argument(..., exists=True, file_okay=False, resolve_path=True),
    server: str = typer.Option(..., envvar="OUTTAKE_SERVER", help="e.g. http://127.0.0.1:8000"),
    token: str = typer.Option(..., envvar="OUTTAKE_TOKEN", help="An API token with 'upload'."),
    only_sellable: bool = typer.Option(
        False, help="Scan first (resuming any scan) and upload only files worth selling."
    ),
    attest: bool | None = typer.Option(
        None,
        "--attest/--no-attest",
        help="Attest that you own every file uploaded (asked once if not given). Uploads "
        "without it are not offered to buyers until you attest each on its page.",
    ),
) -> None:
    """Upload a folder resumably; files the server already has are skipped by SHA-256."""
    from outtake.core.terms import OWNERSHIP_ATTESTATIONS
    from outtake.uploads.client import UploadError, upload_directory

    if attest is None:
        console.print("For every file you upload now, you attest that:")
        for statement in OWNERSHIP_ATTESTATIONS.values():
            console.print(f"  - {statement}")
        if not _can_ask():
            console.print("[red]error:[/red] answer with --attest (or --no-attest)")
            raise typer.Exit(2)
        attest = typer.confirm("Do you make these statements for every file?", default=False)
    if not attest:
        console.print("[yellow]not attested:[/yellow] these uploads are not offered to buyers")

    select = None
    if only_sellable:
        from outtake.media.scan import scan, sellable_paths

        wanted = sellable_paths(scan(directory))
        console.print(f"the scan values {len(wanted)} file(s) worth uploading")

        def select(path: Path) -> bool:
            return str(path.resolve()) in wanted

    try:
        report = upload_directory(
            directory, server.rstrip("/"), token, select=select, console=console, attest=attest
        )
    except UploadError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(
        f"uploaded {len(report.uploaded)}, skipped {len(report.skipped)} already there, "
        f"failed {len(report.failed)}"
    )
    for path, reason in report.failed:
        console.print(f"[red]failed[/red] {path}: {reason}")
    raise typer.Exit(1 if report.failed else 0)


@app.command("scan")
def scan_command(
    directory: Path = typer.Argument(..., exists=True, file_okay=False, resolve_path=True),
    json_out: Path = typer.Option(None, "--json", help="Write the report as JSON here."),
    html_out: Path = typer.Option(None, "--html", help="Write a self-contained HTML page here."),
    jobs: int = typer.Option(0, help="Files analysed at once (default: one per core)."),
    state: Path = typer.Option(None, help="Resume state (default: DIR/.outtake-scan.json)."),
) -> None:
    """Value a folder of footage on this computer, uploading nothing; resumes if interrupted."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.table import Table

    from outtake.core.money import Money
    from outtake.media.scan import scan
    from outtake.media.scan_report import render_html

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[files]} files · {task.fields[minutes]:.1f} min"),
        TimeRemainingColumn(),
        console=console,
    )
    task = progress.add_task("scanning", total=None, files="0", minutes=0.0)
    done = {"files": 0, "minutes": 0.0, "total": 0}

    def started(todo: list[Path], resumed: int) -> None:
        # ETA by bytes: minutes are known only once a file is analysed.
        done["total"] = len(todo) + resumed
        progress.update(task, total=sum(p.stat().st_size for p in todo) or 1)

    def finished(entry: dict, resumed: bool) -> None:
        done["files"] += 1
        done["minutes"] += (entry.get("duration_s") or 0) / 60
        if not resumed:
            progress.advance(task, entry["size_bytes"])
        progress.update(
            task,
            description=Path(entry["path"]).name,
            files=f"{done['files']}/{done['total']}",
            minutes=done["minutes"],
        )

    with progress:
        report = scan(
            directory, state_path=state, jobs=jobs or None, on_start=started, on_file=finished
        )
    currency = report["currency"]
    table = Table("file", "length", "size", "clips", "tags", "problems", "releases", "value")
    for entry in report["files"]:
        if "error" in entry:
            table.add_row(Path(entry["path"]).name, "", "", "", "", entry["error"], "", "")
            continue
        table.add_row(
            Path(entry["path"]).name,
            f"{entry['duration_s']:.1f} s" if entry.get("duration_s") else "photo",
            f"{entry['width']}×{entry['height']}",
            str(len(entry["clips"])),
            ", ".join(entry["tags"]),
            "; ".join(entry["problems"]),
            str(entry["people_needing_releases"] or ""),
            f"copy of {Path(entry['duplicate_of']).name}"
            if entry.get("duplicate_of")
            else str(Money(entry["value_minor"], currency)),
        )
    Console().print(table)
    for code, tier in report["tiers"].items():
        console.print(
            f"{code}: {tier['minutes']:.1f} min, {Money(int(tier['value_minor']), currency)}"
        )
    console.print(
        f"total {Money(report['value_minor'], currency)} for {report['minutes']:.1f} min "
        f"in {len(report['files'])} files ({report['failed']} could not be read)"
    )
    if json_out:
        json_out.write_text(json.dumps(report, indent=1))
    if html_out:
        html_out.write_text(render_html(report), encoding="utf-8")


@app.command()
def check() -> None:
    """Check the books: the ledger's trial balance is zero and the audit chain is unbroken."""
    _django()
    from outtake.audit.services import verify_chain
    from outtake.ledger.services import trial_balance

    unbalanced = {c: t for c, t in trial_balance().items() if t}
    chain_ok, problem = verify_chain()
    console.print(
        "ledger: balanced" if not unbalanced else f"[red]ledger unbalanced:[/red] {unbalanced}"
    )
    console.print("audit chain: intact" if chain_ok else f"[red]audit chain:[/red] {problem}")
    raise typer.Exit(0 if chain_ok and not unbalanced else 1)


@bank_app.command("import")
def bank_import(
    statement: Path = typer.Argument(..., exists=True, dir_okay=False),
    by: str = typer.Option(..., "--by", help="The reviewer's e-mail, recorded as importer."),
) -> None:
    """Import a bank statement (CSV, or ISO 20022 camt.053 XML): matched transfers pay
    invoices; every line is imported once however often the file is."""
    _django()
    from rich.table import Table

    from outtake.accounts.models import User
    from outtake.ledger.camt import parse_camt053
    from outtake.ledger.reconcile import StatementError, import_statement, parse_csv

    reviewer = User.objects.filter(email=by.strip().lower(), is_active=True).first()
    if reviewer is None or not reviewer.is_reviewer:
        console.print(f"[red]error:[/red] {by} is not an active reviewer")
        raise typer.Exit(2)
    data = statement.read_bytes()
    try:
        is_xml = data.lstrip(b"\xef\xbb\xbf \r\n\t").startswith(b"<")
        lines = parse_camt053(data) if is_xml else parse_csv(data.decode("utf-8-sig"))
        report = import_statement(lines, by=reviewer)
    except (StatementError, UnicodeDecodeError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    table = Table("bank line", "outcome")
    for line, invoice in report.matched:
        table.add_row(line.bank_transaction_id, f"pays {invoice}")
    for line, reason in report.credited + report.unmatched:
        table.add_row(line.bank_transaction_id, reason)
    for line in report.already_imported:
        table.add_row(line.bank_transaction_id, "already imported")
    Console().print(table)
    console.print(
        f"{len(report.matched)} matched, {len(report.credited)} credited, "
        f"{len(report.unmatched)} unmatched, {len(report.already_imported)} already imported"
    )


@payouts_app.command("run")
def payouts_run(
    provider: str = typer.Option("", help="csv or stripe (default: OUTTAKE_PAYOUT_PROVIDER)."),
    run: str = typer.Option("", help="Run id; repeating one pays nobody twice."),
) -> None:
    """Pay every creator whose payable balance reaches the minimum; retry what failed."""
    _django()
    from rich.table import Table

    from outtake.core.money import Money
    from outtake.ledger.payouts import run_payouts

    report = run_payouts(provider or None, run=run or None)
    table = Table("payout", "creator", "status", "gross", "withheld", "net", "reference / error")
    for payout in report.sent + report.failed + report.pending:
        table.add_row(
            str(payout.pk),
            payout.creator.pseudonym,
            payout.status,
            str(payout.gross),
            str(payout.withholding),
            str(payout.net),
            payout.provider_reference or payout.error,
        )
    for pseudonym, reason in report.skipped:
        table.add_row("", pseudonym, "skipped", "", "", "", reason)
    Console().print(table)
    totals = ", ".join(str(Money(m, c)) for c, m in report.total_sent.items()) or "nothing"
    console.print(
        f"run {report.run} ({report.provider}): sent {totals}; {len(report.failed)} failed, "
        f"{len(report.pending)} pending, {len(report.skipped)} skipped, "
        f"{report.below_minimum} below the minimum"
        + (f"; bank file {report.bank_file}" if report.bank_file else "")
    )
    raise typer.Exit(1 if report.failed or report.pending else 0)


@app.command("verify-contract")
def verify_contract_command(
    pdf: Path = typer.Argument(..., exists=True, dir_okay=False),
    trust: list[Path] = typer.Option(
        None,
        help="Root (or own) certificates, PEM, that vouch for other signers such as the buyer; "
        "a co-signature counts only through one of them.",
    ),
    root: Path = typer.Option(
        None, help="Outtake's root certificate (default: the one in OUTTAKE_HOME/pki)."
    ),
) -> None:
    """Validate a contract offline: Outtake's seal against Outtake's root, every other
    signature against the --trust certificates."""
    import logging

    from rich.table import Table

    from outtake.config.home import home
    from outtake.provenance.verify_contract import missing_seal, verify_contract

    logging.getLogger("pyhanko").setLevel(logging.ERROR)
    ok, rows = verify_contract(pdf, root or home() / "pki" / "root.pem", trust or [])
    table = Table("signature", "signer", "role", "intact", "valid", "trusted", "ok", "problem")
    for row in rows:
        table.add_row(
            str(row.get("field")),
            str(row.get("signer")),
            "Outtake seal" if row.get("seal") else "co-signature",
            str(row.get("intact")),
            str(row.get("valid")),
            str(row.get("trusted")),
            str(row.get("ok")),
            str(row.get("error")),
        )
    Console().print(table)
    if missing_seal(rows):
        console.print(f"[red]{missing_seal(rows)}[/red]")
    console.print("[green]contract valid[/green]" if ok else "[red]contract NOT valid[/red]")
    raise typer.Exit(0 if ok else 1)


@app.command("backup")
def backup_command(
    target: Path = typer.Argument(..., dir_okay=False, help="The .tar.gz to write."),
) -> None:
    """Back up the database, blobs (local storage), secret key and certificate authority."""
    _django()
    from outtake.ops.backup import backup

    names = backup(target)
    console.print(f"wrote {target}: {', '.join(names)}")


register_catalog(app)
register_dedup(app)
register_delivery(app)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def manage(ctx: typer.Context) -> None:
    """Run a Django management command (e.g. `outtake manage createsuperuser`)."""
    _django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["outtake manage", *ctx.args])


audit_app = typer.Typer(help="The audit chain and its signed checkpoints.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(
    head: list[Path] = typer.Option(
        None,
        exists=True,
        dir_okay=False,
        help="A head printed on a document, to check too: a package's audit_head.json, the JSON "
        "of GET /api/audit/head, or a statement's CSV. Repeat for several.",
    ),
) -> None:
    """Check the hash chain, every signed checkpoint, and printed heads (their count and head,
    and the signature of the checkpoint they carry) against it."""
    _django()
    from outtake.audit.services import read_printed_head, verify_all

    printed = []
    for path in head or []:
        try:
            printed.append(read_printed_head(path.read_text(encoding="utf-8")))
        except (ValueError, UnicodeDecodeError) as exc:
            console.print(f"[red]error:[/red] {path}: {exc}")
            raise typer.Exit(2) from exc
    ok, problems = verify_all(printed)
    for problem in problems:
        console.print(f"[red]{problem}[/red]")
    console.print("audit chain and checkpoints: intact" if ok else "[red]NOT intact[/red]")
    raise typer.Exit(0 if ok else 1)


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign a checkpoint of the chain's head now (the worker does it every hour)."""
    _django()
    from outtake.audit.services import create_checkpoint

    cp = create_checkpoint()
    typer.echo(json.dumps({"count": cp.count, "head": cp.head, "signature": cp.signature}))


if __name__ == "__main__":
    app()
