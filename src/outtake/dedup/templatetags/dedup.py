from django import template

from outtake.dedup.services import holds_of_asset
from outtake.media.authenticity import for_buyers

register = template.Library()


@register.inclusion_tag("dedup/asset_holds.html")
def dedup_holds(asset) -> dict:
    """Why clips of an asset are held out of the catalogue, for the creator's asset page."""
    return {"holds": [h for h in holds_of_asset(asset) if h.status in ("pending", "duplicate")]}


@register.inclusion_tag("dedup/authenticity.html")
def authenticity_facts(asset, for_buyer: bool = False) -> dict:
    """An asset's authenticity evidence; a buyer's view leaves out what could name the creator."""
    facts = asset.authenticity or {}
    return {"facts": for_buyers(facts) if for_buyer else facts}
