"""The host's own commands, each module registered like a plugin (register_commands).

`host` (plugins, migrate, analyze) is always there; `fetch`, `imports` (plugin
name "localmail": import, series) and `weekly` (digest, site, run) are
built-in plugins of the host, with config tables under their plugin names.
"""
