"""energytui's store: every reading kept in TinyDB, crash-safe and flat-cost.

>>> from energytui.store import Store
>>> with Store.open(path) as store:
...     store.append("power", sample.to_record())
...     rows = store.query("power", start, end, max_points=240)

See :mod:`energytui.store.store` and ``docs/store.md``.
"""

from energytui.store.errors import StoreError, StoreReadOnly
from energytui.store.store import Store

__all__ = ["Store", "StoreError", "StoreReadOnly"]
