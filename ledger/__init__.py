"""The collateral ledger's write side and public API: `open_ledger(url)`."""

from ledger.api import Ledger, open_ledger

__all__ = ["Ledger", "open_ledger"]
