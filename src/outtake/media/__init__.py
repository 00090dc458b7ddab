"""Pure media analysis for ingest: probe, thumbnail and the sandbox they run in.

No Django here: workers run these steps in a child process that imports only this package.
The heavy modules (PyAV, Pillow) are imported by the submodules that need them, so importing
``outtake.media`` or its errors costs nothing.
"""

from outtake.media.errors import MediaError

__all__ = ["MediaError"]
