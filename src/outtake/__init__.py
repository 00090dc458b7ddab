"""Outtake: an open exchange where creators license unpublished footage to AI labs."""

__version__ = "0.1.0"
