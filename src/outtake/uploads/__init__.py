"""Resumable uploads: a tus 1.0 server (`tus.TusApp`) and the CLI uploader (`client`)."""

from outtake.uploads.filenames import safe_filename
from outtake.uploads.tus import TusApp, UnknownUpload, Upload, UploadBusy

__all__ = ["TusApp", "UnknownUpload", "Upload", "UploadBusy", "safe_filename"]
