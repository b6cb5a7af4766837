"""The lore source's view of public-inbox git epochs; the reader itself is the host's tracker.public_inbox.

Kept so that `from tracker.plugins.lore_git import read_epoch` goes on
working; `ktrack import` reads epochs offline through the same module.
Not a plugin itself: plugins/lore.py imports it.
"""

from tracker.api import epoch_paths, fetch_epoch, read_epoch

__all__ = ["epoch_paths", "fetch_epoch", "read_epoch"]
