"""The one exception type a user ever sees: a clear line, a non-zero exit, no traceback."""

import click


class KtrackError(click.ClickException):
    """A user-facing error: bad input, a bad path, an unreachable source.

    click prints it as `Error: <message>` and exits 1, so raising it anywhere
    below a command is enough to honour "one clear line, never a traceback".
    """
