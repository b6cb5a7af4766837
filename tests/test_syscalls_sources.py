"""The lore diff-search sources both plugins register, configurable and disable-able."""

from tracker.app import App


def sources_for(tmp_path, toml_text=""):
    config = tmp_path / "config.toml"
    config.write_text(toml_text)
    app = App(db_path=tmp_path / "k.db", config_path=config)
    found = []
    app.host.call("register_sources", register=found.append, config=app.config)
    return {s.name: s for s in found if s.kind == "lore-query"}


def test_default_lore_queries_registered(tmp_path):
    sources = sources_for(tmp_path)
    queries = {s.query for name, s in sources.items() if name.startswith(("lore-query:syscalls", "lore-query:sysctls"))}
    assert queries == {"dfn:syscall.tbl", "dfb:SYSCALL_DEFINE*", "dfb:.procname"}
    s = sources["lore-query:syscalls:dfn:syscall.tbl"]
    assert s.days == 14 and "x=A" in s.url and "dfn:syscall.tbl" in s.url


def test_lore_queries_configurable_and_disable_able(tmp_path):
    sources = sources_for(tmp_path, '[plugins.syscalls]\nlore_queries = ["dfn:unistd.h"]\nlore_days = 3\n[plugins.sysctls]\nlore_queries = []\n')
    mine = {n: s for n, s in sources.items() if n.startswith(("lore-query:syscalls", "lore-query:sysctls"))}
    assert list(mine) == ["lore-query:syscalls:dfn:unistd.h"]
    assert mine["lore-query:syscalls:dfn:unistd.h"].days == 3
