from huey.contrib.djhuey import db_task

from outtake.dedup import services


@db_task(retries=2, retry_delay=60)
def render_hold_frames(hold_id: int) -> None:
    """Pictures of a new hold's matched frames, made after the ingest that held it."""
    services.render_hold_frames(hold_id)
