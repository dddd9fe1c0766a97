"""The languages of the book, the exercises and every message: the one place that names them.

Chinese is the source language; English comes through gettext catalogs.  A released notebook says which
language it was released in under its metadata ``numstab.language``; a submission whose value is missing or
unknown is read as the course's language.
"""
from __future__ import annotations

LANGUAGES = ("zh_CN", "en")
SOURCE_LANGUAGE = "zh_CN"
METADATA_KEY = "numstab"  # notebook metadata: {"numstab": {"language": "en"}}


def known(language: object, default: str = SOURCE_LANGUAGE) -> str:
    """``language`` when it is one of ours, else ``default`` (a submission's metadata is data, never trusted)."""
    return language if isinstance(language, str) and language in LANGUAGES else default
