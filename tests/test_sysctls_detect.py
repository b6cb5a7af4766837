"""Sysctl knob detection on patches shaped like real kernel diffs, plus near-misses."""

from tracker.plugins.sysctls import knob_changes
from tracker.plugins.sysctls.detect import find_knob_changes, path_from_file


def by_name(diffs):
    return {k["name"]: k for k in knob_changes(diffs)}


# 2010: "net: reserve ports for applications using fixed port numbers" (e3826f1e946e) shape.
RESERVED_PORTS_CODE = """\
diff --git a/net/ipv4/sysctl_net_ipv4.c b/net/ipv4/sysctl_net_ipv4.c
index 1cd5c15..d96c1da 100644
--- a/net/ipv4/sysctl_net_ipv4.c
+++ b/net/ipv4/sysctl_net_ipv4.c
@@ -299,6 +299,13 @@ static struct ctl_table ipv4_table[] = {
 		.mode		= 0644,
 		.proc_handler	= ipv4_local_port_range,
 	},
+	{
+		.procname	= "ip_local_reserved_ports",
+		.data		= NULL, /* initialized in sysctl_ipv4_init */
+		.maxlen		= 65536,
+		.mode		= 0644,
+		.proc_handler	= proc_do_large_bitmap,
+	},
 #ifdef CONFIG_IP_MULTICAST
 	{
 		.procname	= "igmp_max_memberships",
"""

RESERVED_PORTS_DOC = """\
diff --git a/Documentation/networking/ip-sysctl.txt b/Documentation/networking/ip-sysctl.txt
index f350c69..c7165f4 100644
--- a/Documentation/networking/ip-sysctl.txt
+++ b/Documentation/networking/ip-sysctl.txt
@@ -588,6 +588,16 @@ ip_local_port_range - 2 INTEGERS
 	(i.e. by default) range 1024-4999 is enough to issue up to
 	2000 connections per second to systems supporting timestamps.
 
+ip_local_reserved_ports - list of comma separated ranges
+	Specify the ports which are reserved for known third-party
+	applications. These ports will not be used by automatic port
+	assignments (e.g. when calling connect() or bind() with port
+	number 0). Explicit port allocation behavior is unchanged.
+
+	Default: Empty
+
 ip_nonlocal_bind - BOOLEAN
 	If set, allows processes to bind() to non-local IP addresses,
 	which can be quite useful - but may break some applications.
"""


def test_detect_knob_added_with_doc_joined():
    k = by_name([RESERVED_PORTS_CODE, RESERVED_PORTS_DOC])["net.ipv4.ip_local_reserved_ports"]
    assert k["change"] == "added"
    assert k["path"] == "/proc/sys/net/ipv4/ip_local_reserved_ports"
    assert (k["mode"], k["handler"], k["maxlen"]) == ("0644", "proc_do_large_bitmap", "65536")
    assert k["doc"].startswith("Specify the ports which are reserved for known third-party\napplications.")
    assert k["default"] == "Empty"
    assert len(knob_changes([RESERVED_PORTS_CODE, RESERVED_PORTS_DOC])) == 1  # igmp_max_memberships is context


# Old style: .ctl_name = CTL_UNNUMBERED in kernel/sysctl.c's kern_table (2.6.3x).
CTL_UNNUMBERED = """\
--- a/kernel/sysctl.c
+++ b/kernel/sysctl.c
@@ -382,6 +382,14 @@ static struct ctl_table kern_table[] = {
 		.proc_handler	= &proc_dointvec,
 	},
 #endif
+	{
+		.ctl_name	= CTL_UNNUMBERED,
+		.procname	= "sched_child_runs_first",
+		.data		= &sysctl_sched_child_runs_first,
+		.maxlen		= sizeof(unsigned int),
+		.mode		= 0644,
+		.proc_handler	= &proc_dointvec,
+	},
 #ifdef CONFIG_PROVE_LOCKING
 	{
 		.ctl_name	= CTL_UNNUMBERED,
"""


def test_detect_ctl_unnumbered_style_in_kern_table():
    k = by_name([CTL_UNNUMBERED])["kernel.sched_child_runs_first"]
    assert (k["change"], k["ctl_name"], k["handler"]) == ("added", "CTL_UNNUMBERED", "proc_dointvec")


# Registration gives the path: register_net_sysctl(net, "net/mptcp", ...) in a new file.
REGISTERED = """\
diff --git a/net/mptcp/ctrl.c b/net/mptcp/ctrl.c
--- a/net/mptcp/ctrl.c
+++ b/net/mptcp/ctrl.c
@@ -40,6 +40,15 @@ static struct ctl_table mptcp_sysctl_table[] = {
 		.extra1       = SYSCTL_ZERO,
 		.extra2       = SYSCTL_ONE
 	},
+	{
+		.procname = "scheduler",
+		.maxlen	= MPTCP_SCHED_NAME_MAX,
+		.mode = 0644,
+		.proc_handler = proc_scheduler,
+	},
 	{}
 };
 
@@ -80,5 +89,5 @@ static int mptcp_pernet_new_table(struct net *ns, struct mptcp_pernet *pernet)
 	table[3].data = &pernet->stale_loss_cnt;
 
-	hdr = register_net_sysctl(net, "net/mptcp", table);
+	hdr = register_net_sysctl_sz(net, "net/mptcp", table, ARRAY_SIZE(mptcp_sysctl_table));
 	if (!hdr)
"""


def test_detect_path_from_registration_even_through_a_copy():
    # The table is kmemdup'ed into `table`; the file fallback (net/mptcp) gives the same answer.
    assert by_name([REGISTERED])["net.mptcp.scheduler"]["change"] == "added"


REGISTER_SYSCTL = """\
--- a/fs/coredump.c
+++ b/fs/coredump.c
@@ -970,6 +970,20 @@ void dump_truncate(struct coredump_params *cprm)
 EXPORT_SYMBOL(dump_truncate);
+
+static struct ctl_table coredump_sysctls[] = {
+	{
+		.procname	= "core_sort_vma",
+		.data		= &core_sort_vma,
+		.maxlen		= sizeof(int),
+		.mode		= 0644,
+		.proc_handler	= proc_douintvec_minmax,
+		.extra1		= SYSCTL_ZERO,
+		.extra2		= SYSCTL_ONE,
+	},
+};
+
+static int __init init_fs_coredump_sysctls(void)
+{
+	register_sysctl_init("kernel", coredump_sysctls);
"""


def test_detect_register_sysctl_path_beats_file_place():
    k = by_name([REGISTER_SYSCTL])["kernel.core_sort_vma"]  # fs/ file, kernel/ directory
    assert (k["extra1"], k["extra2"]) == ("SYSCTL_ZERO", "SYSCTL_ONE")


# 2.6-era nesting: a ctl_path array plus register_sysctl_paths, and .child tables.
NESTED = """\
--- a/net/foo/sysctl.c
+++ b/net/foo/sysctl.c
@@ -0,0 +1,30 @@
+static struct ctl_table foo_table[] = {
+	{
+		.procname	= "bar_timeout",
+		.data		= &bar_timeout,
+		.maxlen		= sizeof(int),
+		.mode		= 0644,
+		.proc_handler	= proc_dointvec_jiffies,
+	},
+	{ }
+};
+
+static struct ctl_path foo_path[] = {
+	{ .procname = "net", },
+	{ .procname = "foo", },
+	{ .procname = "core", },
+	{ }
+};
+
+static struct ctl_table baz_dir[] = {
+	{
+		.procname	= "baz",
+		.mode		= 0555,
+		.child		= foo_table,
+	},
+	{ }
+};
+
+void foo_init(void)
+{
+	register_sysctl_paths(foo_path, foo_table);
+}
"""


def test_detect_register_sysctl_paths_and_no_knob_for_paths_or_dirs():
    names = set(by_name([NESTED]))
    assert names == {"net.foo.core.bar_timeout"}


CHILD = """\
--- a/kernel/sysctl.c
+++ b/kernel/sysctl.c
@@ -0,0 +1,16 @@
+static struct ctl_table random_table[] = {
+	{
+		.procname	= "entropy_avail",
+		.mode		= 0444,
+		.proc_handler	= proc_dointvec,
+	},
+	{ }
+};
+static struct ctl_table kern_table[] = {
+	{
+		.procname	= "random",
+		.mode		= 0555,
+		.child		= random_table,
+	},
+	{ }
+};
"""


def test_detect_child_nesting():
    assert set(by_name([CHILD])) == {"kernel.random.entropy_avail"}


CHANGED = """\
--- a/net/ipv4/sysctl_net_ipv4.c
+++ b/net/ipv4/sysctl_net_ipv4.c
@@ -580,9 +580,10 @@ static struct ctl_table ipv4_net_table[] = {
 	{
 		.procname	= "tcp_syn_retries",
 		.data		= &init_net.ipv4.sysctl_tcp_syn_retries,
 		.maxlen		= sizeof(u8),
-		.mode		= 0644,
-		.proc_handler	= proc_dointvec_minmax,
+		.mode		= 0600,
+		.proc_handler	= proc_dou8vec_minmax,
 		.extra1		= &tcp_syn_retries_min,
-		.extra2		= &tcp_syn_retries_max
+		.extra2		= &tcp_syn_retries_max,
 	},
"""


def test_detect_changed_mode_handler_and_range():
    k = by_name([CHANGED])["net.ipv4.tcp_syn_retries"]
    assert k["change"] == "changed"
    assert k["changes"] == {"mode": ["0644", "0600"], "proc_handler": ["proc_dointvec_minmax", "proc_dou8vec_minmax"]}


DOC_DEFAULT = """\
--- a/Documentation/networking/ip-sysctl.rst
+++ b/Documentation/networking/ip-sysctl.rst
@@ -700,7 +700,7 @@ tcp_syn_retries - INTEGER
 	for an active TCP connection attempt will happen after 127seconds.
 
 tcp_syn_linear_timeouts - INTEGER
 	The number of times for an active TCP connection to retransmit SYNs with
 	a linear backoff timeout before defaulting to an exponential backoff
-	Default: 4
+	Default: 5
"""


def test_detect_documented_default_change():
    k = by_name([DOC_DEFAULT])["net.ipv4.tcp_syn_linear_timeouts"]
    assert (k["change"], k["changes"]["default"]) == ("changed", ["4", "5"])


# ---- near-misses ----

MOVE = """\
--- a/kernel/sysctl.c
+++ b/kernel/sysctl.c
@@ -1600,13 +1600,6 @@ static struct ctl_table vm_table[] = {
 		.extra1		= SYSCTL_ZERO,
 	},
-	{
-		.procname	= "compact_unevictable_allowed",
-		.data		= &sysctl_compact_unevictable_allowed,
-		.maxlen		= sizeof(int),
-		.mode		= 0644,
-		.proc_handler	= proc_dointvec_minmax_warn_RT_change,
-	},
 	{
--- a/mm/compaction.c
+++ b/mm/compaction.c
@@ -3000,3 +3000,17 @@ static struct ctl_table vm_compaction[] = {
+	{
+		.procname	= "compact_unevictable_allowed",
+		.data		= &sysctl_compact_unevictable_allowed,
+		.maxlen		= sizeof(int),
+		.mode		= 0644,
+		.proc_handler	= proc_dointvec_minmax_warn_RT_change,
+	},
+};
+
+static int __init kcompactd_init(void)
+{
+	register_sysctl_init("vm", vm_compaction);
"""

NEAR_MISSES = {
    "move between files": MOVE,
    "comment": """\
--- a/net/ipv4/sysctl_net_ipv4.c
+++ b/net/ipv4/sysctl_net_ipv4.c
@@ -1,2 +1,4 @@ static struct ctl_table ipv4_table[] = {
 	{
+	/* .procname = "old_knob", was removed in 2.6.30 */
+	 * .procname = "another",
""",
    "context only": """\
--- a/net/ipv4/sysctl_net_ipv4.c
+++ b/net/ipv4/sysctl_net_ipv4.c
@@ -10,6 +10,6 @@ static struct ctl_table ipv4_table[] = {
 	{
 		.procname	= "tcp_timestamps",
 		.data		= &sysctl_tcp_timestamps,
-		.maxlen		= sizeof(int),
+		.maxlen		= sizeof(int) ,
 		.mode		= 0644,
 	},
""",
    "computed name": """\
--- a/drivers/foo.c
+++ b/drivers/foo.c
@@ -1,1 +1,4 @@ static struct ctl_table foo_table[] = {
+	{
+		.procname	= name_buf,
+		.mode		= 0644,
""",
    "tools copy": """\
--- a/tools/testing/selftests/net/sysctl.c
+++ b/tools/testing/selftests/net/sysctl.c
@@ -0,0 +1,4 @@
+	{
+		.procname	= "fake",
+		.mode		= 0644,
+	},
""",
}


def test_detect_near_misses_report_nothing():
    for label, diff in NEAR_MISSES.items():
        assert knob_changes([diff]) == [], label


def test_detect_same_entry_moved_with_its_mode_changed_is_a_change():
    diff = MOVE.replace("+		.mode		= 0644,", "+		.mode		= 0600,")
    changes = find_knob_changes(diff)
    assert [(c.name, c.change, c.changes) for c in changes] == [("vm.compact_unevictable_allowed", "changed", {"mode": ["0644", "0600"]})]


def test_path_from_file_fallbacks():
    assert path_from_file("net/ipv4/sysctl_net_ipv4.c") == "net/ipv4"
    assert path_from_file("mm/compaction.c") == "vm"
    assert path_from_file("lib/foo.c") is None


ROOT_NESTING = """\
--- a/drivers/char/foo.c
+++ b/drivers/char/foo.c
@@ -0,0 +1,27 @@
+static struct ctl_table foo_table[] = {
+	{
+		.ctl_name	= CTL_UNNUMBERED,
+		.procname	= "foo_max",
+		.data		= &foo_max,
+		.maxlen		= sizeof(int),
+		.mode		= 0644,
+		.proc_handler	= &proc_dointvec,
+	},
+	{ .ctl_name = 0 }
+};
+static struct ctl_table foo_dir[] = {
+	{ .ctl_name = CTL_UNNUMBERED, .procname = "foo", .mode = 0555, .child = foo_table, },
+	{ .ctl_name = 0 }
+};
+static struct ctl_table dev_root[] = {
+	{
+		.ctl_name	= CTL_DEV,
+		.procname	= "dev",
+		.mode		= 0555,
+		.child		= foo_dir,
+	},
+	{ .ctl_name = 0 }
+};
+static int __init foo_init(void)
+{
+	foo_header = register_sysctl_table(dev_root);
"""


def test_detect_register_sysctl_table_root_with_nested_children():
    assert set(by_name([ROOT_NESTING])) == {"dev.foo.foo_max"}


def test_detect_documentation_only_change_is_a_change_of_an_existing_knob():
    diff = RESERVED_PORTS_DOC.replace("+	Default: Empty", "+	Default: 8080")
    k = by_name([diff])["net.ipv4.ip_local_reserved_ports"]
    assert (k["change"], k["mode"], k["default"]) == ("changed", None, "8080")
