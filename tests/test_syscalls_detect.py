"""Syscall detection on patches shaped like real kernel diffs, one per form, plus near-misses."""

from tracker.plugins.syscalls.detect import abi_for_path, detect_syscalls
from tracker.plugins.syscalls.diffparse import parse_diff


def one(diff, name):
    found = [r for r in detect_syscalls(diff) if r["name"] == name]
    assert len(found) == 1, detect_syscalls(diff)
    return found[0]


# 2021: process_mrelease wired into the x86 tables (commit dce49103962840dd61423d7627748d6c558d58c5 shape).
X86_TBL = """\
diff --git a/arch/x86/entry/syscalls/syscall_32.tbl b/arch/x86/entry/syscalls/syscall_32.tbl
index 960a021d543e..ce763a12311c 100644
--- a/arch/x86/entry/syscalls/syscall_32.tbl
+++ b/arch/x86/entry/syscalls/syscall_32.tbl
@@ -452,3 +452,4 @@
 445	i386	landlock_add_rule	sys_landlock_add_rule
 446	i386	landlock_restrict_self	sys_landlock_restrict_self
 447	i386	memfd_secret		sys_memfd_secret
+448	i386	process_mrelease	sys_process_mrelease
diff --git a/arch/x86/entry/syscalls/syscall_64.tbl b/arch/x86/entry/syscalls/syscall_64.tbl
index 18b5500ea8bf..fe8f8dd157b4 100644
--- a/arch/x86/entry/syscalls/syscall_64.tbl
+++ b/arch/x86/entry/syscalls/syscall_64.tbl
@@ -369,6 +369,7 @@
 445	common	landlock_add_rule	sys_landlock_add_rule
 446	common	landlock_restrict_self	sys_landlock_restrict_self
 447	common	memfd_secret		sys_memfd_secret
+448	common	process_mrelease	sys_process_mrelease
 
 #
 # Due to a historical design error, certain syscalls are numbered differently
"""


def test_detect_x86_tables_number_per_abi():
    r = one(X86_TBL, "process_mrelease")
    assert r["change"] == "added"
    assert r["abis"] == {"i386": 448, "x86_64": 448}
    assert r["forms"] == ["table"]
    assert len(detect_syscalls(X86_TBL)) == 1  # context rows are not additions


# 6.13: setxattrat in the generic table introduced by 6.11 (scripts/syscall.tbl).
SCRIPTS_TBL = """\
diff --git a/scripts/syscall.tbl b/scripts/syscall.tbl
index 845e24eb372e..ebbdb3c42e9f 100644
--- a/scripts/syscall.tbl
+++ b/scripts/syscall.tbl
@@ -403,3 +403,4 @@
 460	common	lsm_set_self_attr		sys_lsm_set_self_attr
 461	common	lsm_list_modules		sys_lsm_list_modules
 462	common	mseal				sys_mseal
+463	common	setxattrat			sys_setxattrat
"""


def test_detect_generic_scripts_table():
    r = one(SCRIPTS_TBL, "setxattrat")
    assert (r["change"], r["abis"]) == ("added", {"generic": 463})


ASM_GENERIC = """\
diff --git a/include/uapi/asm-generic/unistd.h b/include/uapi/asm-generic/unistd.h
index 1c5fb86d455a..1c48b0ae3ba3 100644
--- a/include/uapi/asm-generic/unistd.h
+++ b/include/uapi/asm-generic/unistd.h
@@ -877,9 +877,11 @@ __SYSCALL(__NR_landlock_restrict_self, sys_landlock_restrict_self)
 #define __NR_memfd_secret 447
 __SYSCALL(__NR_memfd_secret, sys_memfd_secret)
 #endif
+#define __NR_process_mrelease 448
+__SYSCALL(__NR_process_mrelease, sys_process_mrelease)
 
 #undef __NR_syscalls
-#define __NR_syscalls 448
+#define __NR_syscalls 449
 
 /*
  * 32 bit systems traditionally used different
"""


def test_detect_asm_generic_unistd_and_syscalls_bump():
    results = detect_syscalls(ASM_GENERIC)
    assert [r["name"] for r in results] == ["process_mrelease"]  # __NR_syscalls is not a syscall
    assert results[0]["abis"] == {"generic": 448}
    assert results[0]["forms"] == ["unistd", "unistd_call"]


# 2.6.39: name_to_handle_at/open_by_handle_at (commit 990d6c2d7aee shape).
OLD_X86 = """\
diff --git a/arch/x86/include/asm/unistd_32.h b/arch/x86/include/asm/unistd_32.h
index b766a5e8ba0e..4c8c0e2d6f21 100644
--- a/arch/x86/include/asm/unistd_32.h
+++ b/arch/x86/include/asm/unistd_32.h
@@ -346,10 +346,12 @@
 #define __NR_fanotify_init	338
 #define __NR_fanotify_mark	339
 #define __NR_prlimit64		340
+#define __NR_name_to_handle_at	341
+#define __NR_open_by_handle_at  342
 
 #ifdef __KERNEL__
 
-#define NR_syscalls 341
+#define NR_syscalls 343
 
 #define __ARCH_WANT_IPC_PARSE_VERSION
 #define __ARCH_WANT_OLD_READDIR
diff --git a/arch/x86/include/asm/unistd_64.h b/arch/x86/include/asm/unistd_64.h
index 363e9b8a715b..20eee4e1b0e5 100644
--- a/arch/x86/include/asm/unistd_64.h
+++ b/arch/x86/include/asm/unistd_64.h
@@ -669,6 +669,10 @@ __SYSCALL(__NR_fanotify_init, sys_fanotify_init)
 __SYSCALL(__NR_fanotify_mark, sys_fanotify_mark)
 #define __NR_prlimit64				302
 __SYSCALL(__NR_prlimit64, sys_prlimit64)
+#define __NR_name_to_handle_at			303
+__SYSCALL(__NR_name_to_handle_at, sys_name_to_handle_at)
+#define __NR_open_by_handle_at                  304
+__SYSCALL(__NR_open_by_handle_at, compat_sys_open_by_handle_at)
 
 #ifndef __NO_STUBS
 #define __ARCH_WANT_OLD_READDIR
diff --git a/arch/x86/kernel/syscall_table_32.S b/arch/x86/kernel/syscall_table_32.S
index b35786dc9b8f..6e4c1b8240e7 100644
--- a/arch/x86/kernel/syscall_table_32.S
+++ b/arch/x86/kernel/syscall_table_32.S
@@ -340,3 +340,5 @@ ENTRY(sys_call_table)
 	.long sys_fanotify_init
 	.long sys_fanotify_mark
 	.long sys_prlimit64		/* 340 */
+	.long sys_name_to_handle_at
+	.long sys_open_by_handle_at
"""


def test_detect_old_unistd_headers_and_32bit_asm_table():
    r = one(OLD_X86, "name_to_handle_at")
    assert r["abis"] == {"i386": 341, "x86_64": 303}
    assert set(r["forms"]) == {"unistd", "unistd_call", "asm_table"}
    assert one(OLD_X86, "open_by_handle_at")["abis"] == {"i386": 342, "x86_64": 304}
    assert [r["name"] for r in detect_syscalls(OLD_X86)] == ["name_to_handle_at", "open_by_handle_at"]


def test_detect_asm_table_number_from_comment():
    diff = """\
--- a/arch/x86/kernel/syscall_table_32.S
+++ b/arch/x86/kernel/syscall_table_32.S
@@ -339,2 +339,3 @@ ENTRY(sys_call_table)
 	.long sys_fanotify_mark
+	.long sys_prlimit64		/* 340 */
"""
    assert one(diff, "prlimit64")["abis"] == {"i386": 340}


DEFINE = """\
diff --git a/fs/fhandle.c b/fs/fhandle.c
new file mode 100644
index 000000000000..bf93ad2bee07
--- /dev/null
+++ b/fs/fhandle.c
@@ -0,0 +1,12 @@
+/**
+ * sys_name_to_handle_at: convert name to handle
+ */
+SYSCALL_DEFINE5(name_to_handle_at, int, dfd, const char __user *, name,
+		struct file_handle __user *, handle, int __user *, mnt_id,
+		int, flag)
+{
+	struct path path;
+	int lookup_flags;
+	int err;
+	return err;
+}
diff --git a/fs/compat.c b/fs/compat.c
index 4c1a2b6bbcbc..e4ef8c6de7a7 100644
--- a/fs/compat.c
+++ b/fs/compat.c
@@ -2296,3 +2296,10 @@ asmlinkage long compat_sys_timerfd_gettime(int ufd,
 }
 
 #endif /* CONFIG_TIMERFD */
+
+COMPAT_SYSCALL_DEFINE3(open_by_handle_at, int, mountdirfd,
+		       struct file_handle __user *, handle, int, flags)
+{
+	return do_handle_open(mountdirfd, handle, flags);
+}
+
"""


def test_detect_syscall_define_signature_over_lines():
    r = one(DEFINE, "name_to_handle_at")
    assert r["forms"] == ["define"]
    assert r["signature"] == (
        "name_to_handle_at(int dfd, const char __user *name, struct file_handle __user *handle, int __user *mnt_id, int flag)"
    )
    assert r["compat_only"] is False


def test_detect_compat_define_alone_is_compat_only():
    r = one(DEFINE, "open_by_handle_at")
    assert r["forms"] == ["compat_define"]
    assert r["compat_only"] is True
    assert r["signature"] == "open_by_handle_at(int mountdirfd, struct file_handle __user *handle, int flags)"


PROTO_AND_NI = """\
diff --git a/include/linux/syscalls.h b/include/linux/syscalls.h
index 98664db1be47..f4ce3ec34bbf 100644
--- a/include/linux/syscalls.h
+++ b/include/linux/syscalls.h
@@ -831,6 +831,10 @@ asmlinkage long sys_fanotify_mark(int fanotify_fd, unsigned int flags,
 asmlinkage long sys_syncfs(int fd);
 asmlinkage long sys_prlimit64(pid_t pid, unsigned int resource,
 				const struct rlimit64 __user *new_rlim,
 				struct rlimit64 __user *old_rlim);
+asmlinkage long sys_name_to_handle_at(int dfd, const char __user *name,
+				      struct file_handle __user *handle,
+				      int __user *mnt_id, int flag);
+
 
 int kernel_execve(const char *filename, const char *const argv[], const char *const envp[]);
 
diff --git a/kernel/sys_ni.c b/kernel/sys_ni.c
index c782fe9924c7..25cc41cd8f33 100644
--- a/kernel/sys_ni.c
+++ b/kernel/sys_ni.c
@@ -186,3 +186,5 @@ cond_syscall(sys_perf_event_open);
 /* fanotify! */
 cond_syscall(sys_fanotify_init);
 cond_syscall(sys_fanotify_mark);
+cond_syscall(sys_name_to_handle_at);
+cond_syscall(compat_sys_open_by_handle_at);
"""


def test_detect_prototype_and_cond_syscall():
    r = one(PROTO_AND_NI, "name_to_handle_at")
    assert r["forms"] == ["prototype", "cond_syscall"]
    assert r["signature"] == "name_to_handle_at(int dfd, const char __user *name, struct file_handle __user *handle, int __user *mnt_id, int flag)"
    assert one(PROTO_AND_NI, "open_by_handle_at")["compat_only"] is True


def test_detect_modern_cond_syscall_macro():
    diff = """\
--- a/kernel/sys_ni.c
+++ b/kernel/sys_ni.c
@@ -60,2 +60,3 @@ COND_SYSCALL(landlock_restrict_self);
 COND_SYSCALL(landlock_add_rule);
 COND_SYSCALL(landlock_restrict_self);
+COND_SYSCALL(process_mrelease);
"""
    assert one(diff, "process_mrelease")["forms"] == ["cond_syscall"]


# 2021: "exit/bdflush: Remove the deprecated bdflush system call" shape.
REMOVAL = """\
diff --git a/arch/x86/entry/syscalls/syscall_32.tbl b/arch/x86/entry/syscalls/syscall_32.tbl
--- a/arch/x86/entry/syscalls/syscall_32.tbl
+++ b/arch/x86/entry/syscalls/syscall_32.tbl
@@ -144,3 +144,3 @@
 132	i386	getpgid			sys_getpgid
 133	i386	fchdir			sys_fchdir
-134	i386	bdflush			sys_bdflush
+134	i386	bdflush
 135	i386	sysfs			sys_sysfs
diff --git a/fs/buffer.c b/fs/buffer.c
--- a/fs/buffer.c
+++ b/fs/buffer.c
@@ -3370,6 +3370,1 @@ EXPORT_SYMBOL(bh_submit_read);
-SYSCALL_DEFINE2(bdflush, int, func, long, data)
-{
-	return 0;
-}
-
 void __init buffer_init(void)
"""


def test_detect_removal():
    r = one(REMOVAL, "bdflush")
    assert r["change"] == "removed"
    # the i386 row stays with no entry point: the number is kept, the call is gone
    assert r["forms"] == ["table", "define"] and r["abis"] == {"i386": 134}
    assert r["signature"] == "bdflush(int func, long data)"


# ---- near-misses: none of these adds a system call ----

NEAR_MISSES = {
    "calls": """\
--- a/fs/open.c
+++ b/fs/open.c
@@ -10,2 +10,4 @@ int do_thing(void)
 {
+	err = sys_close(fd);
+	return ksys_unshare(flags);
""",
    "comments": """\
--- a/kernel/fork.c
+++ b/kernel/fork.c
@@ -1,2 +1,5 @@
 /*
+ * SYSCALL_DEFINE2(clone4, int, a, int, b) would be nicer here
+ * cond_syscall(sys_clone4);
+ */
--- a/include/uapi/asm-generic/unistd.h
+++ b/include/uapi/asm-generic/unistd.h
@@ -1,2 +1,4 @@
 #define __NR_memfd_secret 447
+/* #define __NR_clone4 450 reserved */
+// __SYSCALL(__NR_clone4, sys_clone4)
--- a/arch/x86/entry/syscalls/syscall_64.tbl
+++ b/arch/x86/entry/syscalls/syscall_64.tbl
@@ -1,1 +1,2 @@
 447	common	memfd_secret		sys_memfd_secret
+# 448 reserved for clone4
""",
    "move": """\
--- a/fs/stat.c
+++ b/fs/stat.c
@@ -100,4 +100,0 @@
-SYSCALL_DEFINE2(newstat, const char __user *, filename,
-		struct stat __user *, statbuf)
-{
-}
--- a/fs/stat_new.c
+++ b/fs/stat_new.c
@@ -0,0 +1,4 @@
+SYSCALL_DEFINE2(newstat, const char __user *, filename,
+		struct stat __user *, statbuf)
+{
+}
""",
    "renumbering": """\
--- a/arch/x86/entry/syscalls/syscall_64.tbl
+++ b/arch/x86/entry/syscalls/syscall_64.tbl
@@ -370,3 +370,3 @@
 446	common	landlock_restrict_self	sys_landlock_restrict_self
-447	common	memfd_secret		sys_memfd_secret
+448	common	memfd_secret		sys_memfd_secret
 
""",
    "context only": """\
--- a/mm/oom_kill.c
+++ b/mm/oom_kill.c
@@ -1150,5 +1150,5 @@
 SYSCALL_DEFINE2(process_mrelease, int, pidfd, unsigned int, flags)
 {
-	struct mm_struct *mm = NULL;
+	struct mm_struct *mm;
 	struct task_struct *task;
""",
    "signature change": """\
--- a/kernel/sys.c
+++ b/kernel/sys.c
@@ -1,2 +1,2 @@
-SYSCALL_DEFINE3(foo, int, a, int, b, int, c)
+SYSCALL_DEFINE4(foo, int, a, int, b, int, c, int, d)
 {
""",
    "tools copies": """\
--- a/tools/perf/arch/x86/entry/syscalls/syscall_64.tbl
+++ b/tools/perf/arch/x86/entry/syscalls/syscall_64.tbl
@@ -1,1 +1,2 @@
 447	common	memfd_secret		sys_memfd_secret
+448	common	process_mrelease	sys_process_mrelease
--- a/tools/testing/selftests/mm/mrelease_test.c
+++ b/tools/testing/selftests/mm/mrelease_test.c
@@ -0,0 +1,3 @@
+#ifndef __NR_process_mrelease
+#define __NR_process_mrelease 448
+#endif
""",
    "documentation": """\
--- a/Documentation/process/adding-syscalls.rst
+++ b/Documentation/process/adding-syscalls.rst
@@ -1,1 +1,3 @@
 Example::
+SYSCALL_DEFINE1(xyzzy, int, fd)
+cond_syscall(sys_xyzzy);
""",
    "redefined existing name": """\
--- a/include/uapi/asm-generic/unistd.h
+++ b/include/uapi/asm-generic/unistd.h
@@ -859,3 +859,4 @@ __SYSCALL(__NR_pidfd_getfd, sys_pidfd_getfd)
 __SYSCALL(__NR_faccessat2, sys_faccessat2)
 #define __NR_process_madvise 440
 __SYSCALL(__NR_process_madvise, sys_process_madvise)
+#define __NR_process_madvise 441
""",
}


def test_detect_near_misses_report_nothing():
    for label, diff in NEAR_MISSES.items():
        assert detect_syscalls(diff) == [], label


def test_detect_same_patch_added_to_real_table_is_found():
    # The tools/ near-miss above must be silent because of its path, not because the row is unreadable.
    diff = NEAR_MISSES["tools copies"].replace("tools/perf/", "")
    assert one(diff, "process_mrelease")["abis"] == {"x86_64": 448}


def test_abi_for_path_covers_table_families():
    assert abi_for_path("arch/mips/kernel/syscalls/syscall_n64.tbl") == "mips-n64"
    assert abi_for_path("arch/arm/tools/syscall.tbl", "common") == "arm"
    assert abi_for_path("arch/x86/entry/syscalls/syscall_64.tbl", "x32") == "x32"
    assert abi_for_path("arch/arm64/include/asm/unistd32.h") == "arm64-compat"
    assert abi_for_path("include/asm-i386/unistd.h") == "i386"
    assert abi_for_path("fs/open.c") is None


def test_parse_diff_survives_truncated_hunk():
    files = parse_diff("--- a/x.c\n+++ b/x.c\n@@ -1,5 +1,6 @@\n a\n+b\n-- \n2.30.0\n")
    assert [f.path for f in files] == ["x.c"]
    assert files[0].hunks[0].lines[:2] == [(" ", "a"), ("+", "b")]


# ---- the 2024-2026 shapes of issue 16 (the messages are not in the recorded archives; these are
# written in their form: an ABI-column edit of scripts/syscall.tbl, COND_SYSCALL lines of a vDSO
# series, SYSCALL_DEFINE0(name) inside a macro of an RFC) ----

ISSUE_16_SHAPES = {
    "abi column edit": """\
--- a/scripts/syscall.tbl
+++ b/scripts/syscall.tbl
@@ -90,4 +90,4 @@
 78	common	readlinkat			sys_readlinkat
-79	stat64	fstatat64			sys_fstatat64
-79	64	newfstatat			sys_newfstatat
+79	stat64	fstatat64			sys_fstatat64
+79	newstat	newfstatat			sys_newfstatat
-80	64	fstat				sys_newfstat
+80	newstat	fstat				sys_newfstat
""",
    "vdso cond_syscall": """\
--- a/kernel/sys_ni.c
+++ b/kernel/sys_ni.c
@@ -170,2 +170,5 @@ COND_SYSCALL(lsm_list_modules);
 COND_SYSCALL(listmount);
+COND_SYSCALL(time);
+COND_SYSCALL(stime);
+COND_SYSCALL(gettimeofday);
""",
    "define in a macro": """\
--- a/kernel/rfc.c
+++ b/kernel/rfc.c
@@ -1,1 +1,5 @@
 #include <linux/syscalls.h>
+#define DEFINE_STUB(name)		\\
+SYSCALL_DEFINE0(name)			\\
+{					\\
+	return -ENOSYS;			\\
+}
""",
}


def test_issue_16_shapes_are_no_syscall_changes():
    for label, diff in ISSUE_16_SHAPES.items():
        found = [r for r in detect_syscalls(diff) if r["native"] and not r["compat_only"]]
        assert found == [], label
    # the COND_SYSCALL lines are read, and said to be stubs only
    assert {r["name"] for r in detect_syscalls(ISSUE_16_SHAPES["vdso cond_syscall"])} == {"time", "stime", "gettimeofday"}
