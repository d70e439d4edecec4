"""Operational commands of `cledger` beside the everyday ones: `backup`."""

from __future__ import annotations


import click

from ledger.cli import cli, db_option, guarded, json_option, print_json


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@db_option
@json_option
@guarded
def backup(file: str, db: str, as_json: bool) -> None:
    """Copy the ledger into a new SQLite FILE, consistent even while others record.

    The copy is the log as of one commit, its hash chain verified; it passes
    `cledger audit --db sqlite:///FILE` and the live log extends its head.
    An existing FILE is never overwritten.
    """
    from ledger.backup import backup as make_backup
    from ledger.store import open_store

    with open_store(db) as store:
        result = make_backup(store, file)
    if as_json:
        print_json(result.to_json())
    else:
        click.echo(f"backed up {result.events} event(s) to {result.path}; head {result.head}")

