"""Command output shared by the host's and the plugins' commands."""

import json

import click


def print_json(data) -> None:
    """Print `data` as indented JSON: the shape every --json option promises."""
    click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))
