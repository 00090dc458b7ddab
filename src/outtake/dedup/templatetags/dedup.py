from django import template

from outtake.dedup.services import holds_of_asset

register = template.Library()


@register.inclusion_tag("dedup/asset_holds.html")
def dedup_holds(asset) -> dict:
    """Why clips of an asset are held out of the catalogue, for the creator's asset page."""
    return {"holds": [h for h in holds_of_asset(asset) if h.status in ("pending", "duplicate")]}
