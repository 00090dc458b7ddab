"""The one notification service: in-app inbox plus e-mail through Django's mail backend."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from outtake.notices.models import Notification
from outtake.notices.webhooks import enqueue

log = logging.getLogger("outtake.notices")
SUBJECT_MAX = Notification._meta.get_field("subject").max_length


def _fit(text: str, limit: int) -> str:
    """Subjects quote file names, which may be long; cut with an ellipsis, never fail."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def notify(
    users: Iterable, kind: str, subject: str, body: str = "", url: str = ""
) -> list[Notification]:
    """Put a message in each user's inbox and e-mail it once the transaction commits."""
    created = [
        Notification.objects.create(
            user=u, kind=kind, subject=_fit(subject, SUBJECT_MAX), body=body, url=url[:500]
        )
        for u in users
        if u is not None and u.is_active
    ]
    ids = [n.id for n in created]
    if ids:
        transaction.on_commit(lambda: _email(ids))
    return created


def notify_org(
    org, kind: str, subject: str, body: str = "", url: str = "", data: dict | None = None
) -> list[Notification]:
    """Tell an organisation's members, and POST the event to its webhooks with `data`, the
    facts a machine needs (ids), beside the human text."""
    event = {
        "organization": org.pseudonym,
        "subject": subject,
        "body": body,
        "url": f"{settings.OUTTAKE_PUBLIC_URL}{url}" if url else "",
        **(data or {}),
    }
    enqueue(org, kind, event)
    return notify(org.members.filter(is_active=True), kind, subject, body, url)


def notify_reviewers(kind: str, subject: str, body: str = "", url: str = "") -> list[Notification]:
    from outtake.accounts.models import User

    reviewers = User.objects.filter(role=User.Role.REVIEWER, is_active=True)
    return notify(reviewers, kind, subject, body, url)


def _email(ids: list[int]) -> None:
    for n in Notification.objects.filter(id__in=ids, emailed=False).select_related("user"):
        link = f"\n\n{settings.OUTTAKE_PUBLIC_URL}{n.url}" if n.url else ""
        try:
            send_mail(f"[Outtake] {n.subject}", f"{n.body}{link}", None, [n.user.email])
        except Exception:  # a mail outage must never undo the business change
            log.exception("could not e-mail notification %s", n.id)
            continue
        Notification.objects.filter(id=n.id).update(emailed=True)


def inbox(user, unread_only: bool = False):
    qs = Notification.objects.filter(user=user)
    return qs.filter(read_at__isnull=True) if unread_only else qs


def mark_read(user, ids: list[int] | None = None) -> int:
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(id__in=ids)
    return qs.update(read_at=timezone.now())
