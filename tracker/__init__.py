"""kernel-tracker: follow Linux kernel development through plugins."""

from importlib.metadata import PackageNotFoundError, version as _version

from .hookspecs import hookimpl, hookspec

try:
    __version__ = _version("kernel-tracker")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["hookimpl", "hookspec", "__version__"]
