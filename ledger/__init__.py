"""The collateral ledger's write side and public API: `open_ledger(url)`.

The API is imported on first use, so that the read side (`projections`) can
import the event vocabulary from here without a cycle.
"""

__all__ = ["Ledger", "open_ledger"]


def __getattr__(name: str):
    if name in __all__:
        from ledger import api

        return getattr(api, name)
    raise AttributeError(f"module 'ledger' has no attribute {name!r}")
