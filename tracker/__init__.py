"""kernel-tracker: follow Linux kernel development through plugins."""

from importlib.metadata import PackageNotFoundError, version as _version

from .hookspecs import hookimpl, hookspec

try:
    __version__ = _version("kernel-tracker")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["hookimpl", "hookspec", "__version__"]


def __getattr__(name):
    """Everything in tracker.api is also importable from tracker (resolved on first use)."""
    if name.startswith("_") or name == "api":
        raise AttributeError(f"module 'tracker' has no attribute {name!r}")
    import importlib

    api = importlib.import_module("tracker.api")
    if name in api.__all__:
        return getattr(api, name)
    raise AttributeError(f"module 'tracker' has no attribute {name!r}")

