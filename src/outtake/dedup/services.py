"""Deduplication use cases: hold duplicate uploads, apply labs' and creators' hash lists.

Catalogue frames live in FrameHash rows and in a HashIndex with an entry per variant but the
mirror and the query-only ones (full frame, central regions, quadrants: index.INDEXED); a query
sends the variants of its frames as the matcher pairs them (index.candidate_search). Index hits
are only candidates: every match is confirmed by the ordered clip matcher on the rows in the
database, so stale index entries cost time, never a wrong hold; a reanalysis takes its replaced
clips' frames out.

Workers may run on many machines sharing the database and blob storage. The database is the
truth: every change to the index is logged there (add_to_index), and each machine's index on
its own disk (OUTTAKE_HOME/dedup/index) is a cache that catches up before it is searched. Hash
lists are blobs in storage, indexed on each machine when first used; lists taken before that
exist only on the machine that took them, which copies them into storage (publish_local_lists).
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import tempfile
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from outtake.audit.services import record
from outtake.catalog.models import Asset, Clip
from outtake.core.pricing import Price, PriceLine
from outtake.dedup.models import (
    DuplicateHold,
    FrameHash,
    HashList,
    IndexChange,
    IndexState,
    ListMatch,
    QuoteExclusion,
    RequestPreference,
)
from outtake.media.analysis.reservoir import spread
from outtake.media.authenticity import for_buyers
from outtake.media.dedup import lists
from outtake.media.dedup.index import (
    FORMAT,
    HashIndex,
    candidate_search,
    catalogue_entries,
    entry_ids,
    locked,
)
from outtake.media.dedup.matcher import (
    N_VARIANTS,
    Match,
    Signature,
    Thresholds,
    from_blobs,
    match_clips,
    widened,
)
from outtake.media.errors import TRANSIENT_CODES, MediaError
from outtake.media.sandbox import run_isolated
from outtake.notices.services import notify_reviewers
from outtake.storage import get_store

log = logging.getLogger("outtake.dedup")

# Candidate clips confirmed per new clip, most index hits first.
MAX_CANDIDATES = 20
# Matched frame pairs of a hold shown to reviewers as pictures.
FRAME_PAIRS_SHOWN = 4


class DedupError(ValueError):
    pass


def thresholds() -> Thresholds:
    return Thresholds(
        frame_bits=settings.OUTTAKE_DEDUP_FRAME_BITS,
        min_coverage=settings.OUTTAKE_DEDUP_MIN_COVERAGE,
        min_frames=settings.OUTTAKE_DEDUP_MIN_FRAMES,
    )


def _home() -> Path:
    return settings.OUTTAKE_HOME / "dedup"


def index_dir() -> Path:
    return _home() / "index"


# ---- the catalogue index -------------------------------------------------------------------
# Changes are logged in the database (IndexState, IndexChange); each machine's index on disk is
# a cache of it, stamped with the generation it holds, refreshed under its file lock.

# Log entries `outtake dedup rebuild` keeps: a machine further behind rebuilds its index.
CHANGES_KEPT = 10_000
_STAMP = "generation.json"
_BATCH = 10_000

_cache: dict[str, tuple[tuple[str, int], HashIndex]] = {}


def _state(*, lock: bool) -> IndexState:
    """The generation row; locked until the transaction ends when lock (call inside one)."""
    IndexState.objects.get_or_create(pk=1)
    rows = IndexState.objects.select_for_update() if lock else IndexState.objects
    return rows.get(pk=1)


def catalogue_index() -> HashIndex:
    """This machine's index, brought up to the database's generation first."""
    state = _state(lock=False)
    wanted = (str(state.epoch), state.generation)
    folder = index_dir()
    cached = _cache.get(str(folder))
    if cached is not None and cached[0] == wanted:
        return cached[1]
    if cached is None:  # this machine's first catch-up in this process
        publish_local_lists()
    with locked(folder):
        index = _refreshed(folder, wanted)
    _cache[str(folder)] = (wanted, index)
    return index


def _refreshed(folder: Path, wanted: tuple[str, int]) -> HashIndex:
    """The index on disk at the wanted (epoch, generation): as it is, updated from the change
    log, or rebuilt from the FrameHash rows when the log cannot take it there."""
    epoch, generation = _read_stamp(folder)
    index = HashIndex.load(folder)
    if index is not None and index.stale:  # an older layout: rebuilt from the rows below
        index = None
    if index is not None and (epoch, generation) == wanted:
        return index
    changes = []
    same_database = index is not None and epoch == wanted[0] and 0 <= generation <= wanted[1]
    if same_database:
        log = IndexChange.objects.filter(generation__gt=generation, generation__lte=wanted[1])
        changes = list(log.order_by("generation"))
    if not same_database or len(changes) != wanted[1] - generation:  # another database, pruned
        index = _built_from_rows()
        index.save(folder)
    else:
        index.remove(entry_ids([i for change in changes for i in change.removed]))
        added = [i for change in changes for i in change.added]
        for start in range(0, len(added), _BATCH):
            rows = FrameHash.objects.filter(id__in=added[start : start + _BATCH])
            index.add(*_entries(list(rows.values_list("id", "hashes"))))
        _save(index, folder)
    _write_stamp(folder, wanted)  # last: a crash before it only replays changes again
    return index


def _read_stamp(folder: Path) -> tuple[str, int]:
    """The (epoch, generation) the index on disk holds; ("", -1), which makes the machine
    rebuild its index, when there is no stamp or it cannot be read."""
    try:
        epoch, generation = json.loads((folder / _STAMP).read_text())
        return str(epoch), int(generation)
    except (OSError, ValueError, TypeError):
        return "", -1


def _write_stamp(folder: Path, stamp: tuple[str, int]) -> None:
    """The stamp written beside and renamed over the old one: a crash leaves either whole."""
    partial = folder / (_STAMP + ".part")
    partial.write_text(json.dumps(list(stamp)))
    os.replace(partial, folder / _STAMP)


def _entries(rows: list[tuple[int, bytes]]) -> tuple[np.ndarray, np.ndarray]:
    """Index entries of FrameHash rows: id = row id × variants + variant."""
    if not rows:
        return np.zeros((0, 32), np.uint8), np.zeros(0, np.int64)
    return catalogue_entries(from_blobs([r[1] for r in rows]), [r[0] for r in rows])


def add_to_index(frame_ids: list[int], *, replaced: list[int] | tuple = ()) -> None:
    """Put FrameHash rows in the catalogue index and take replaced ones out: a change logged
    in the database, which every machine's index takes in before its next search. Call it
    last in a transaction: the generation row stays locked until the commit."""
    with transaction.atomic():
        state = _state(lock=True)
        state.generation += 1
        IndexChange.objects.create(
            generation=state.generation, added=list(frame_ids), removed=list(replaced)
        )
        state.save(update_fields=["generation"])


def _save(index: HashIndex, folder: Path) -> None:
    pending = len(index.tail_ids) + len(index.removed_ids)
    if pending > settings.OUTTAKE_DEDUP_TAIL_LIMIT:
        index.merged().save(folder)
    elif (folder / "words.npy").exists():
        index.save_tail(folder)
    else:
        index.save(folder)


def _built_from_rows(progress=None) -> HashIndex:
    """An index of every FrameHash row of clips in the catalogue or held."""
    parts_h, parts_i = [], []
    rows = FrameHash.objects.exclude(clip__asset__status=Asset.Status.REJECTED)
    batch: list[tuple[int, bytes]] = []
    for row in rows.values_list("id", "hashes").iterator(chunk_size=_BATCH):
        batch.append(row)
        if len(batch) == _BATCH:
            h, i = _entries(batch)
            parts_h.append(h)
            parts_i.append(i)
            batch = []
            if progress:
                progress(len(parts_i) * _BATCH)
    h, i = _entries(batch)
    parts_h.append(h)
    parts_i.append(i)
    return HashIndex(np.concatenate(parts_h), np.concatenate(parts_i))


def rebuild_index(progress=None) -> int:
    """This machine's index anew from the FrameHash rows; returns its entries. Also drops
    change log entries older than CHANGES_KEPT generations (a machine that far behind
    rebuilds its own)."""
    state = _state(lock=False)  # rows read after this: changes after it may apply twice
    index = _built_from_rows(progress)
    folder = index_dir()
    with locked(folder):
        staging = folder.with_name("index.new")
        shutil.rmtree(staging, ignore_errors=True)
        index.save(staging)
        for part in staging.glob("*.npy"):
            part.replace(folder / part.name)
        (staging / "meta.json").replace(folder / "meta.json")
        shutil.rmtree(staging, ignore_errors=True)
        _write_stamp(folder, (str(state.epoch), state.generation))
    _cache.pop(str(folder), None)
    IndexChange.objects.filter(generation__lte=state.generation - CHANGES_KEPT).delete()
    return len(index)


# ---- frames of clips -----------------------------------------------------------------------


def store_frames(clip: Clip, frames: list[dict]) -> list[int]:
    """FrameHash rows of a clip from its analysis ({"t","q","h"} or, for clips analysed before
    the dedup step existed, Clip.pdq's {"t","hash","quality"})."""
    signature = Signature.from_frames(frames)
    made = FrameHash.objects.bulk_create(
        FrameHash(
            clip=clip,
            t=float(signature.times[i]),
            quality=int(frame.get("q", frame.get("quality", 0))),
            hashes=signature.hashes[i].tobytes(),
        )
        for i, frame in enumerate(frames)
    )
    return [f.pk for f in made if f.pk] or list(
        FrameHash.objects.filter(clip=clip).values_list("id", flat=True)
    )


def signature_of(clip_id: Any) -> Signature:
    rows = list(FrameHash.objects.filter(clip_id=clip_id).values_list("t", "hashes"))
    return Signature(
        np.array([r[0] for r in rows], dtype=np.float64), from_blobs([r[1] for r in rows]), clip_id
    )


def withheld_clips() -> QuerySet:
    """Clip ids out of the catalogue: held (pending or duplicate) or replaced by a better copy."""
    held = Q(status__in=[DuplicateHold.Status.PENDING, DuplicateHold.Status.DUPLICATE])
    return DuplicateHold.objects.filter(held).values("clip")


def superseded_clips() -> QuerySet:
    return DuplicateHold.objects.filter(status=DuplicateHold.Status.BETTER_COPY).values(
        "matched_clip"
    )


def in_catalogue(qs: QuerySet[Clip]) -> QuerySet[Clip]:
    """qs without held or superseded clips (market.available_clips calls this)."""
    return qs.exclude(id__in=withheld_clips()).exclude(id__in=superseded_clips())


# ---- within the catalogue ------------------------------------------------------------------


def frames_of(asset: Asset) -> list[int]:
    """The asset's FrameHash ids: pass them to on_clips_made as replaced when its clips are
    made anew (the rows go with the old clips; their index entries must go too)."""
    return list(FrameHash.objects.filter(clip__asset=asset).values_list("id", flat=True))


@transaction.atomic
def on_clips_made(
    asset: Asset, clips: list[Clip], analysis: dict, *, replaced: list[int] | tuple = ()
) -> list[DuplicateHold]:
    """Store the new clips' frame hashes, hold duplicates, apply hash lists, then log the
    frames for the index (and the replaced ones out). The index's generation row stays locked
    from the search to the commit: copies ingested at the same moment, on any machines, are
    checked one after the other, the later against the earlier."""
    _state(lock=True)
    shots = {shot["index"]: shot for shot in analysis.get("shots", [])}
    frame_ids: list[int] = []
    for clip in clips:
        shot = shots.get(clip.index, {})
        frame_ids += store_frames(clip, shot.get("dedup") or clip.pdq)
    holds = check_asset(asset)
    for hash_list in HashList.objects.all():
        apply_list(hash_list, Clip.objects.filter(asset=asset))
    add_to_index(frame_ids, replaced=replaced)
    return holds


def _catalogue_clips() -> QuerySet[Clip]:
    live = Clip.objects.filter(asset__status=Asset.Status.READY, asset__withdrawn_at__isnull=True)
    return live.exclude(id__in=withheld_clips())


def find_matches(
    signature: Signature, *, among: QuerySet[Clip] | None = None
) -> list[tuple[Clip, Match]]:
    """Clips the signature matches, with the match, best first: of the catalogue, or of
    `among` (lineage also looks at clips that left it). The index finds candidates
    (index.candidate_search); the matcher confirms the MAX_CANDIDATES clips with the most
    hits."""
    if not len(signature):
        return []
    found = candidate_search(catalogue_index(), signature.hashes, thresholds().frame_bits)
    frame_ids = np.unique(found.ids // N_VARIANTS).tolist()
    per_clip = Counter(FrameHash.objects.filter(id__in=frame_ids).values_list("clip_id", flat=True))
    candidates = (_catalogue_clips() if among is None else among).filter(id__in=list(per_clip))
    ranked = sorted(candidates.select_related("asset"), key=lambda c: -per_clip[c.id])
    matches = []
    for clip in ranked[:MAX_CANDIDATES]:
        match = match_clips(signature, signature_of(clip.id), thresholds())
        if match is not None:
            matches.append((clip, match))
    return sorted(matches, key=lambda m: (-m[1].coverage, m[1].mean_bits))


def _hold(clip: Clip, matched: Clip, kind: str, evidence: dict) -> DuplicateHold:
    from outtake.dedup.tasks import render_hold_frames

    hold = DuplicateHold.objects.create(
        clip=clip, matched_clip=matched, kind=kind, evidence=evidence
    )
    if evidence.get("pairs"):
        transaction.on_commit(lambda: render_hold_frames(hold.pk))
    record(
        "dedup.held",
        org=clip.asset.owner,
        subject=hold,
        data={"clip": str(clip.id), "matched_clip": str(matched.id), "kind": kind},
    )
    return hold


def check_asset(asset: Asset) -> list[DuplicateHold]:
    """Hold each clip of asset that matches a catalogue clip of another asset (any creator).

    Clips with a hold (carried over by a reanalysis) are not checked again: that hold, and
    any decision on it, stands. Clips held against this asset are not candidates, whatever
    their status: the original of a copy is never held against the copy."""
    clips = list(asset.clips.exclude(id__in=DuplicateHold.objects.values("clip")))
    held_against = DuplicateHold.objects.filter(matched_clip__asset=asset)
    twin = (
        Asset.objects.filter(sha256=asset.sha256, status=Asset.Status.READY)
        .exclude(pk=asset.pk)
        .exclude(sha256="")
        .exclude(pk__in=held_against.values("clip__asset"))
        .first()
    )
    holds = []
    if twin is not None:
        targets = list(twin.clips.order_by("index"))
        for clip in clips:
            target = targets[min(clip.index, len(targets) - 1)] if targets else None
            if target is not None:
                holds.append(_hold(clip, target, "exact", {"sha256": asset.sha256}))
        return holds
    for clip in clips:
        among = _catalogue_clips().exclude(asset=asset).exclude(id__in=held_against.values("clip"))
        found = find_matches(signature_of(clip.id), among=among)
        if found:
            matched, match = found[0]
            evidence = {"coverage": round(match.coverage, 3), "pairs": match.pairs}
            holds.append(_hold(clip, matched, "near", evidence))
    return holds


def carry_holds(old: list[Clip], new: list[Clip]) -> None:
    """Before a reanalysis deletes an asset's old clips, move every hold on or against one to
    the new clips overlapping its time span (the nearest, for a photo), with its status,
    decision, evidence and pictures: a held copy stays out, a better copy still replaces, a
    copy found different stays on sale, and no reviewer decides the same pair again. Holds
    are about footage, not about one analysis's cut of it into clips."""
    for clip in old:
        on_either_side = Q(clip=clip) | Q(matched_clip=clip)
        holds = list(DuplicateHold.objects.filter(on_either_side).select_related("clip__asset"))
        if not holds:
            continue
        if not new:
            raise DedupError(
                f"clip {clip.id} has duplicate holds and the new analysis of its asset made "
                "no clip to carry them to"
            )
        pieces = [c for c in new if _overlap_s(clip, c) > 0] or [
            min(new, key=lambda c: abs(c.start_s - clip.start_s))
        ]
        for hold in holds:
            # Each piece of a held clip is held itself, and each piece of a clip a better copy
            # replaced is replaced. Otherwise a copy held against a clip now cut in pieces needs
            # one hold (one decision), against the piece with the most of that clip, as if the
            # clip had been cut so when the copy was checked.
            side = "clip" if hold.clip_id == clip.id else "matched_clip"
            targets = pieces
            if side == "matched_clip" and hold.status != DuplicateHold.Status.BETTER_COPY:
                targets = [max(pieces, key=lambda c: _overlap_s(clip, c))]
            for n, target in enumerate(targets):
                if n:  # the same hold on another piece
                    hold.pk, hold._state.adding = None, True
                setattr(hold, side, target)
                _save_carried(hold, {"side": side, "from": str(clip.id), "to": str(target.id)})


# What a hold keeps off sale, by its status: its clip (a copy held, or not decided yet), the
# clip it matched (replaced by a better copy), or neither (found different).
_KEEPS_OFF_SALE = {
    DuplicateHold.Status.PENDING: {"clip"},
    DuplicateHold.Status.DUPLICATE: {"clip"},
    DuplicateHold.Status.DIFFERENT: set(),
    DuplicateHold.Status.BETTER_COPY: {"matched_clip"},
}


def _save_carried(hold: DuplicateHold, data: dict) -> None:
    """Save a carried hold, unless its pair is held already (clips joined into one): then one
    hold stays, chosen by _joined, and the other goes with its frame pictures."""
    there = (
        DuplicateHold.objects.filter(clip=hold.clip_id, matched_clip=hold.matched_clip_id)
        .exclude(pk=hold.pk)
        .first()
    )
    if there is None:
        hold.save()
        record("dedup.hold_carried", org=hold.clip.asset.owner, subject=hold, data=data)
        return
    joined = [there.status, hold.status]
    kept, dropped, rule = _joined(there, hold)
    data |= {"joined": joined, "kept": kept.status, "rule": rule}
    data |= {"dropped": dropped.status, "dropped_hold": dropped.pk}
    _delete_pictures_of(dropped)
    if dropped.pk is not None:
        dropped.delete()
    kept.save()
    record("dedup.hold_carried", org=hold.clip.asset.owner, subject=kept, data=data)
    if rule == "back_to_pending":
        notify_reviewers(
            "dedup.decide_again",
            f"Decide again: clip {kept.clip_id} against clip {kept.matched_clip_id}",
            f"A reanalysis joined clips whose holds against the same clip were decided "
            f"{joined[0]} and {joined[1]}. No one decision holds for the joined clip, so it "
            "is held until a reviewer decides it.",
            "/review/duplicates/",
        )


def _joined(
    there: DuplicateHold, carried: DuplicateHold
) -> tuple[DuplicateHold, DuplicateHold, str]:
    """Of two holds on one pair (kept, dropped, rule). The one kept keeps off sale all that
    either kept off, a decision over a pending hold, else the one there ("more_restrictive"):
    a clip is never put on sale because footage a reviewer held, or has not decided yet, was
    joined to footage a reviewer released. Where neither does (a better copy against a
    duplicate or pending hold), the one there goes back to pending ("back_to_pending"): the
    joined clip is held and the clip it matched back on sale, so no copy is on sale beside its
    original until a reviewer decides the joined clip."""
    off_sale = _KEEPS_OFF_SALE[there.status] | _KEEPS_OFF_SALE[carried.status]
    fits = [h for h in (there, carried) if _KEEPS_OFF_SALE[h.status] == off_sale]
    if not fits:
        there.status = DuplicateHold.Status.PENDING
        there.decided_by, there.decided_at = None, None
        return there, carried, "back_to_pending"
    decided = [h for h in fits if h.status != DuplicateHold.Status.PENDING]
    kept = (decided or fits)[0]
    return kept, carried if kept is there else there, "more_restrictive"


def _picture_keys(frames: list[dict]) -> set[str]:
    return {frame[side] for frame in frames for side in ("new", "old") if side in frame}


def _delete_pictures_of(dropped: DuplicateHold) -> None:
    """Delete a dropped hold's frame pictures once the change commits, unless another hold
    still shows them: a hold carried to several pieces shares its pictures with the holds of
    the other pieces, all of them on the same pair of assets."""
    keys = _picture_keys(dropped.frames)
    if not keys:
        return
    pair = {
        "clip__asset": dropped.clip.asset_id,
        "matched_clip__asset": dropped.matched_clip.asset_id,
    }

    def delete() -> None:
        shown = DuplicateHold.objects.filter(**pair).values_list("frames", flat=True)
        for key in keys - _picture_keys([f for frames in shown for f in frames]):
            get_store().delete(key)

    transaction.on_commit(delete)


def _overlap_s(a: Clip, b: Clip) -> float:
    end = min(a.start_s if a.end_s is None else a.end_s, b.start_s if b.end_s is None else b.end_s)
    return max(0.0, end - max(a.start_s, b.start_s))


def render_hold_frames(hold_id: int) -> None:
    """Pictures of up to FRAME_PAIRS_SHOWN of the frame pairs a hold rests on, for the
    reviewers' queue: both originals decoded at the matched times, in one sandboxed child,
    stored as holds/<id>/<n>-new.jpg and <n>-old.jpg. A refusal that may pass is raised (the
    task tries again); a file's own verdict leaves the hold without pictures."""
    from outtake.catalog.services import local_original

    hold = DuplicateHold.objects.select_related("clip__asset", "matched_clip__asset").get(
        pk=hold_id
    )
    pairs = hold.evidence.get("pairs") or []
    shown = [pairs[i] for i in spread(list(range(len(pairs))), FRAME_PAIRS_SHOWN)]
    settings.OUTTAKE_TMP_DIR.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(dir=settings.OUTTAKE_TMP_DIR, prefix="hold-frames-"))
    try:
        sides = {"new": (hold.clip.asset, 0), "old": (hold.matched_clip.asset, 1)}
        jobs = []
        for side, (asset, at) in sides.items():
            original = local_original(asset, workdir / side)
            jobs.append([str(original), [pair[at] for pair in shown], str(workdir / side)])
        try:
            run_isolated(
                "outtake.media.frames:write_frames",
                jobs,
                settings.OUTTAKE_MAX_IMAGE_PIXELS,
                memory_mb=settings.OUTTAKE_MEDIA_MEMORY_MB,
                timeout_s=settings.OUTTAKE_MEDIA_TIMEOUT_S,
            )
        except MediaError as exc:
            if exc.code in TRANSIENT_CODES:
                raise
            log.warning("no frame pictures for hold %s: %s", hold.pk, exc)
            return
        frames = []
        for n, (new_t, old_t, bits) in enumerate(shown):
            frame = {"new_t": new_t, "old_t": old_t, "bits": bits}
            for side in sides:
                frame[side] = f"holds/{hold.pk}/{n}-{side}.jpg"
                get_store().put_file(frame[side], workdir / side / f"frame-{n}.jpg")
            frames.append(frame)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    DuplicateHold.objects.filter(pk=hold.pk).update(frames=frames)


def holds_of_asset(asset: Asset) -> list[DuplicateHold]:
    return list(
        DuplicateHold.objects.filter(clip__asset=asset).select_related("clip", "matched_clip")
    )


def pending_holds() -> QuerySet[DuplicateHold]:
    return DuplicateHold.objects.filter(status=DuplicateHold.Status.PENDING).select_related(
        "clip__asset__owner", "matched_clip__asset__owner"
    )


@transaction.atomic
def decide(hold: DuplicateHold, reviewer, decision: str) -> DuplicateHold:
    """A reviewer's decision: duplicate (stays out), different (released), better_copy (the
    new clip replaces the matched one, which must be the same creator's)."""
    if not reviewer.is_reviewer:
        raise PermissionError("only reviewers decide duplicates")
    if decision not in DuplicateHold.Status.values or decision == DuplicateHold.Status.PENDING:
        raise DedupError("decide duplicate, different or better_copy")
    hold = (
        DuplicateHold.objects.select_for_update()
        .select_related("clip__asset", "matched_clip__asset")
        .get(pk=hold.pk)
    )
    if decision == DuplicateHold.Status.BETTER_COPY and (
        hold.clip.asset.owner_id != hold.matched_clip.asset.owner_id
    ):
        raise DedupError("a better copy must come from the same creator")
    hold.status, hold.decided_by, hold.decided_at = decision, reviewer, timezone.now()
    hold.save(update_fields=["status", "decided_by", "decided_at"])
    record(
        "dedup.decided",
        actor=reviewer,
        org=hold.clip.asset.owner,
        subject=hold,
        data={
            "decision": decision,
            "clip": str(hold.clip_id),
            "matched": str(hold.matched_clip_id),
        },
    )
    return hold


# ---- hash lists: labs' corpora and creators' published footage ------------------------------


def _list_blob(hash_list: HashList, name: str) -> str:
    return f"dedup/lists/{hash_list.id}/{name}"


def _list_folder(hash_list: HashList) -> Path:
    return _home() / "lists" / str(hash_list.id)


def _list_hashes(hash_list: HashList) -> tuple[set[str], HashIndex | None]:
    """A list's SHA-256 digests and the index of its frames, from this machine's copy
    (OUTTAKE_HOME/dedup/lists/<id>), made from the list's blobs the first time: a list never
    changes once uploaded."""
    folder = _list_folder(hash_list)
    digests = folder / "sha256.txt"
    if not _list_copied(folder):
        with locked(folder):
            if not _list_copied(folder):
                store = get_store()
                here = HashIndex.load(folder / "index") if digests.exists() else None
                try:
                    frames = store.get_bytes(_list_blob(hash_list, "frames.npy"))
                    listed = store.get_bytes(_list_blob(hash_list, "sha256.txt"))
                    bag = widened(np.load(io.BytesIO(frames)))  # older lists: 4 variants
                except FileNotFoundError as exc:
                    if here is None:
                        raise DedupError(
                            f"hash list {hash_list.id} is not in blob storage: it was uploaded "
                            "before lists were kept there; run `outtake dedup rebuild` on the "
                            f"machine holding OUTTAKE_HOME/dedup/lists/{hash_list.id}"
                        ) from exc
                    # Only here, in an older layout: made anew from this copy itself.
                    bag, listed = _bag_frames(here), digests.read_bytes()
                lists.bag_index(bag).save(folder / "index")
                partial = folder / "sha256.txt.part"
                partial.write_bytes(listed)
                os.replace(partial, digests)  # last: its presence says the copy is whole
    return set(digests.read_text().split()), HashIndex.load(folder / "index")


def _list_copied(folder: Path) -> bool:
    """Whether this machine holds a whole copy of a list, its index in the current layout."""
    meta = folder / "index" / "meta.json"
    if not (folder / "sha256.txt").exists() or not meta.exists():
        return False
    return json.loads(meta.read_text()).get("format") == FORMAT


def _in_store(key: str) -> bool:
    try:
        get_store().size(key)
    except FileNotFoundError:
        return False
    return True


def _bag_frames(index: HashIndex) -> np.ndarray:
    """The frames a list's bag index was made from (lists.bag_index), as frames.npy holds
    them. Variants the index leaves out (the full frame's hash repeated, absent, or quadrants)
    come back as the full frame's hash, which bag_index leaves out again: the same index."""
    kept = ~np.isin(index.ids, index.removed_ids)
    ids = np.concatenate([index.ids[kept], index.tail_ids]).astype(np.int64)
    words = np.concatenate([index.words[kept], index.tail_words])
    hashes = words.astype(">u8").view(np.uint8).reshape(-1, 32)  # to_words, reversed
    variants = index.variants
    count = int(ids.max()) // variants + 1 if len(ids) else 0
    frames = np.zeros((count, N_VARIANTS, 32), np.uint8)
    present = np.zeros((count, N_VARIANTS), bool)
    frames[ids // variants, ids % variants] = hashes
    present[ids // variants, ids % variants] = True
    full = np.broadcast_to(frames[:, :1], frames.shape)
    return np.where(present[..., None], frames, full)


def _uuid(name: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(name)
    except ValueError:  # not a list's folder
        return None


def publish_local_lists() -> list[uuid.UUID]:
    """Copy into blob storage the hash lists this machine holds only in its own folder
    (OUTTAKE_HOME/dedup/lists/<id>): lists uploaded before lists were kept in storage, so that
    workers on other machines can apply them too. Runs with `outtake dedup rebuild` and on a
    process's first index catch-up; returns the ids of the lists copied."""
    root = _home() / "lists"
    names = [p.name for p in root.iterdir()] if root.is_dir() else []
    ids = [list_id for list_id in map(_uuid, names) if list_id is not None]
    copied = []
    for hash_list in HashList.objects.filter(id__in=ids).order_by("id"):
        folder = _list_folder(hash_list)
        frames_key = _list_blob(hash_list, "frames.npy")
        digests_key = _list_blob(hash_list, "sha256.txt")
        with locked(folder):
            if _in_store(frames_key) and _in_store(digests_key):
                continue
            index = HashIndex.load(folder / "index")
            if index is None or not (folder / "sha256.txt").exists():
                log.warning("hash list %s: no whole copy in %s to store", hash_list.id, folder)
                continue
            frames = io.BytesIO()
            np.save(frames, _bag_frames(index))
            store = get_store()
            store.put_bytes(frames_key, frames.getvalue())
            store.put_bytes(digests_key, (folder / "sha256.txt").read_bytes())
        log.info("hash list %s copied from %s into blob storage", hash_list.id, folder)
        copied.append(hash_list.id)
    return copied


@transaction.atomic
def upload_list(user, text: str, *, kind: str, purpose: str, name: str = "") -> HashList:
    """Store a hash list and mark the catalogue clips it matches."""
    if purpose == HashList.Purpose.CORPUS and not user.is_buyer:
        raise PermissionError("only buyers upload corpus hash lists")
    if purpose == HashList.Purpose.PUBLISHED and not user.is_creator:
        raise PermissionError("only creators upload lists of what they published")
    try:
        parsed = lists.parse(text, kind)
    except (lists.HashListError, ValueError) as exc:
        raise DedupError(str(exc)) from exc
    hash_list = HashList.objects.create(
        owner=user.organization,
        purpose=purpose,
        name=(name or f"{purpose} list")[:200],
        sha256_count=len(parsed.sha256),
        pdq_count=len(parsed.frames),
    )
    # In blob storage, where workers on every machine find them (a rollback leaves them
    # unreferenced, never a list without its hashes).
    frames = io.BytesIO()
    np.save(frames, parsed.frames)
    store = get_store()
    store.put_bytes(_list_blob(hash_list, "frames.npy"), frames.getvalue())
    store.put_bytes(_list_blob(hash_list, "sha256.txt"), "\n".join(sorted(parsed.sha256)).encode())
    scope = Clip.objects.all()
    if purpose == HashList.Purpose.PUBLISHED:
        scope = scope.filter(asset__owner=user.organization)
    matched = apply_list(hash_list, scope)
    record(
        "dedup.list_uploaded",
        actor=user,
        org=user.organization,
        subject=hash_list,
        data={
            "purpose": purpose,
            "sha256": hash_list.sha256_count,
            "pdq": hash_list.pdq_count,
            "matched_clips": matched,
        },
    )
    return hash_list


def apply_list(hash_list: HashList, clips: QuerySet[Clip]) -> int:
    """ListMatch rows for the clips (of the catalogue) this list holds; returns how many."""
    if hash_list.purpose == HashList.Purpose.PUBLISHED:
        clips = clips.filter(asset__owner=hash_list.owner_id)
    sha256, index = _list_hashes(hash_list)
    made = 0
    for clip in clips.select_related("asset"):
        if clip.asset.sha256 and clip.asset.sha256 in sha256:
            kind, evidence = "exact", {"sha256": clip.asset.sha256}
        elif index is not None and len(index):
            evidence = lists.match_against_bag(signature_of(clip.id), index, thresholds())
            kind = "near"
            if evidence is None:
                continue
        else:
            continue
        _, created = ListMatch.objects.get_or_create(
            hash_list=hash_list, clip=clip, defaults={"kind": kind, "evidence": evidence}
        )
        made += created
    return made


def published_clips() -> QuerySet:
    return ListMatch.objects.filter(hash_list__purpose=HashList.Purpose.PUBLISHED).values("clip")


def set_unpublished_only(request, value: bool) -> None:
    RequestPreference.objects.update_or_create(
        request=request, defaults={"unpublished_only": value}
    )


PUBLISHED_POLICIES = ("exclude", "discount", "allow")


def published_policy() -> str:
    """What happens to clips marked published (OUTTAKE_DEDUP_PUBLISHED)."""
    policy = settings.OUTTAKE_DEDUP_PUBLISHED
    if policy not in PUBLISHED_POLICIES:
        raise ImproperlyConfigured(
            f"OUTTAKE_DEDUP_PUBLISHED must be one of {', '.join(PUBLISHED_POLICIES)}, "
            f"not {policy!r}"
        )
    return policy


def _unpublished_only(request) -> bool:
    return RequestPreference.objects.filter(request=request, unpublished_only=True).exists()


def left_out_of_quote(request) -> dict[Any, str]:
    """Clip id → why it leaves this request's quote: the lab already has it (its hash lists or
    its `outtake exclude` ids), or it was published elsewhere (by setting, or on request)."""
    out: dict[Any, str] = {}
    if published_policy() == "exclude" or _unpublished_only(request):
        for clip_id in published_clips().values_list("clip", flat=True):
            out[clip_id] = "published elsewhere"
    corpus = ListMatch.objects.filter(
        hash_list__purpose=HashList.Purpose.CORPUS, hash_list__owner=request.buyer_id
    ).values_list("clip", flat=True)
    for clip_id in corpus:
        out[clip_id] = "already in your corpus"
    for clip_id in QuoteExclusion.objects.filter(request=request).values_list("clip", flat=True):
        out[clip_id] = "already in your corpus"
    return out


def discounted_in_quote(request) -> set[Any]:
    """Clip ids a quote prices lower because they were published elsewhere (policy discount)."""
    if published_policy() != "discount" or _unpublished_only(request):
        return set()
    return set(published_clips().values_list("clip", flat=True))


def apply_published_discount(price: Price) -> Price:
    """Add the published-elsewhere deduction to a clip's price, as an explained line."""
    share = Decimal(settings.OUTTAKE_DEDUP_PUBLISHED_DISCOUNT)
    if not Decimal(0) <= share <= Decimal(1):
        raise ImproperlyConfigured("OUTTAKE_DEDUP_PUBLISHED_DISCOUNT must be between 0 and 1")
    price.lines.append(
        PriceLine(
            "deduction",
            "published",
            f"Published elsewhere by its creator −{share * 100:.0f} %",
            -price.total.times(share),
        )
    )
    return price


def quote_candidates(user, quote) -> list[dict]:
    """The frame hashes of a quote's clips, for `outtake exclude` to match locally."""
    if quote.buyer_id != user.organization_id:
        raise PermissionError("not your quote")
    result = []
    for item in quote.items.select_related("clip__asset"):
        signature = signature_of(item.clip_id)
        result.append(
            {
                "clip_id": str(item.clip_id),
                "sha256": item.clip.asset.sha256,
                "duration_s": item.clip.duration_s,
                "frames": [
                    {"t": float(t), "h": lists.listed([bytes(v).hex() for v in frames])}
                    for t, frames in zip(signature.times, signature.hashes, strict=True)
                ],
            }
        )
    return result


@transaction.atomic
def exclude_from_quote(user, quote, clip_ids: list[str]):
    """Leave the given clips of a quote out of its request and quote it again."""
    from outtake.market.services import build_quote

    if quote.buyer_id != user.organization_id or not user.is_buyer:
        raise PermissionError("not your quote")
    in_quote = set(quote.items.values_list("clip_id", flat=True))
    wanted = {c for c in in_quote if str(c) in set(clip_ids)}
    if len(wanted) != len(set(clip_ids)):
        raise DedupError("only clips of this quote can be excluded")
    for clip_id in wanted:
        QuoteExclusion.objects.get_or_create(request=quote.request, clip_id=clip_id)
    record(
        "dedup.quote_exclusion",
        actor=user,
        org=user.organization,
        subject=quote,
        data={"clips": sorted(str(c) for c in wanted)},
    )
    return build_quote(quote.request)


# ---- authenticity evidence -------------------------------------------------------------------


def authenticity_of(user, clip_id: Any) -> dict:
    """A clip's authenticity evidence as its viewer may see it: in full for reviewers and the
    creator; for a buyer, of clips it can see (catalogue, its quotes, its licenses), without
    what could name the creator. Raises Clip.DoesNotExist for anyone else."""
    from outtake.market.models import QuoteItem
    from outtake.market.services import asset_shown_to_buyer

    clip = Clip.objects.select_related("asset").get(pk=clip_id)
    facts = clip.asset.authenticity or {}
    if user.is_reviewer or clip.asset.owner_id == user.organization_id:
        return facts
    quoted = QuoteItem.objects.filter(quote__buyer=user.organization_id, clip=clip).exists()
    if user.is_buyer and (quoted or asset_shown_to_buyer(user.organization, clip.asset_id)):
        return for_buyers(facts)
    raise Clip.DoesNotExist
