"""`cledger serve`: the ledger in a browser, one shared reader for a team.

- `service.py`: the server's one reader of the ledger. A follower thread keeps
  the read models caught up with the log (written by anyone, on SQLite or
  PostgreSQL); requests answer from them on worker threads of their own.
- `pages.py`: the table of pages (one entry and one template a view).
- `app.py`: the Starlette application: the pages, `/api/<view>` (the bytes
  `cledger <view> --json` prints), the journal, the charts as SVG, the token.
- `journal.py`: the filters and summaries of the events page.
"""

from ledger.web.app import create_app

__all__ = ["create_app"]
