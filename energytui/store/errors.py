"""The two exceptions the store raises: both carry one sentence a user can act on."""

from __future__ import annotations


class StoreError(Exception):
    """The store could not do what was asked (bad record, unreadable store, disk error)."""


class StoreReadOnly(StoreError):
    """A write was attempted on a store opened read-only (another process is the writer)."""
