"""Name the subsystem and the kind of bug of a stable patch, in words an editor would use.

Everything here is a table or a regex a reader can check: the impact line
("User-triggerable NULL pointer dereference in the NFS code") is assembled
from the bug class, the subsystem and whether a user can reach the code.
"""

from __future__ import annotations

import re

from .features import loose_precheck, reverted_subject, split_subject

# Subject prefix (first component, lower case) -> how an editor names it.
SUBSYSTEM_NAMES = {
    "nfs": "NFS", "nfsd": "NFS server", "sunrpc": "SUNRPC", "lockd": "NFS lock manager",
    "btrfs": "Btrfs", "ext4": "ext4", "ext3": "ext3", "ext2": "ext2", "xfs": "XFS", "f2fs": "F2FS",
    "ocfs2": "OCFS2", "nilfs2": "NILFS2", "jfs": "JFS", "gfs2": "GFS2", "fuse": "FUSE",
    "smb": "SMB", "cifs": "CIFS/SMB client", "ksmbd": "ksmbd SMB server", "ntfs3": "NTFS3",
    "fat": "FAT", "exfat": "exFAT", "hfs": "HFS", "hfsplus": "HFS+", "udf": "UDF", "isofs": "ISO 9660",
    "squashfs": "SquashFS", "erofs": "EROFS", "ceph": "Ceph", "9p": "9P", "afs": "AFS",
    "overlayfs": "overlayfs", "ovl": "overlayfs", "fs": "filesystem", "vfs": "VFS", "proc": "procfs",
    "io_uring": "io_uring", "aio": "AIO", "block": "block layer", "blk-mq": "block layer",
    "bluetooth": "Bluetooth", "net": "networking", "netfilter": "netfilter", "ebtables": "ebtables",
    "iptables": "iptables", "ipv4": "IPv4", "ipv6": "IPv6", "tcp": "TCP", "udp": "UDP", "sctp": "SCTP",
    "mptcp": "MPTCP", "tipc": "TIPC", "rds": "RDS", "can": "CAN", "xfrm": "IPsec (xfrm)",
    "wifi": "Wi-Fi", "mac80211": "Wi-Fi (mac80211)", "cfg80211": "Wi-Fi (cfg80211)", "nfc": "NFC",
    "tls": "kernel TLS", "af_unix": "Unix sockets", "unix": "Unix sockets", "vsock": "vsock",
    "netlink": "netlink", "bridge": "bridge", "bonding": "bonding", "openvswitch": "Open vSwitch",
    "ppp": "PPP", "atm": "ATM", "ax25": "AX.25", "netrom": "NET/ROM", "rose": "ROSE", "llc": "LLC",
    "alsa": "ALSA sound", "asoc": "ASoC sound", "sound": "sound", "drm": "DRM graphics",
    "fbdev": "framebuffer", "fbcon": "framebuffer console", "media": "media", "v4l2": "Video4Linux",
    "usb": "USB", "xhci": "USB xHCI", "hid": "HID", "input": "input", "tty": "TTY", "serial": "serial",
    "scsi": "SCSI", "ata": "ATA", "libata": "ATA", "nvme": "NVMe", "nvmet": "NVMe target",
    "md": "MD RAID", "dm": "device mapper", "loop": "loop device", "nbd": "NBD", "rbd": "RBD",
    "kvm": "KVM", "x86": "x86", "arm64": "arm64", "arm": "ARM", "powerpc": "PowerPC", "s390": "s390",
    "riscv": "RISC-V", "mips": "MIPS", "sparc": "SPARC", "sparc64": "SPARC64", "ia64": "IA-64",
    "mm": "memory management", "hugetlb": "hugetlb", "slab": "slab allocator", "bpf": "BPF",
    "sched": "scheduler", "cgroup": "cgroup", "perf": "perf", "ftrace": "ftrace", "tracing": "tracing",
    "kprobes": "kprobes", "locking": "locking", "futex": "futex", "time": "timekeeping",
    "timers": "timers", "irq": "IRQ", "genirq": "IRQ", "pci": "PCI", "acpi": "ACPI", "efi": "EFI",
    "iommu": "IOMMU", "vfio": "VFIO", "virtio": "virtio", "vhost": "vhost", "xen": "Xen",
    "hv": "Hyper-V", "crypto": "crypto", "keys": "keyrings", "selinux": "SELinux",
    "apparmor": "AppArmor", "smack": "Smack", "tomoyo": "TOMOYO", "lsm": "LSM", "ima": "IMA",
    "integrity": "integrity", "rdma": "RDMA", "infiniband": "InfiniBand", "i2c": "I2C", "spi": "SPI",
    "gpio": "GPIO", "pinctrl": "pin control", "mmc": "MMC/SD", "mtd": "MTD flash", "ubi": "UBI",
    "ubifs": "UBIFS", "thermal": "thermal", "cpufreq": "cpufreq", "power": "power management",
    "pm": "power management", "firmware": "firmware", "platform": "platform drivers",
    "staging": "staging", "binder": "Android binder", "android": "Android", "watchdog": "watchdog",
    "rtc": "RTC", "dmaengine": "DMA engine", "clk": "clock", "regulator": "regulator",
    "iio": "IIO", "hwmon": "hardware monitoring", "leds": "LED", "mfd": "MFD", "phy": "PHY",
    "tpm": "TPM", "ipc": "IPC", "kernel": "core kernel", "module": "module loader",
    "modules": "module loader", "ptrace": "ptrace", "signal": "signal", "exec": "exec",
    "seccomp": "seccomp", "audit": "audit", "namespace": "namespaces", "printk": "printk",
    "lib": "library", "init": "init", "fork": "fork", "ext4/jbd2": "ext4", "jbd2": "jbd2",
    "landlock": "Landlock", "quota": "quota", "zram": "zram", "zswap": "zswap", "swap": "swap",
    "nvdimm": "NVDIMM", "cxl": "CXL", "thunderbolt": "Thunderbolt", "soundwire": "SoundWire",
    "maintainers": "MAINTAINERS file", "documentation": "documentation", "docs": "documentation",
}
PAPERWORK = {"MAINTAINERS file", "documentation"}  # changes to these fix or add no code

# Path prefix -> name, longest first, for when the diff says more than the subject.
PATH_NAMES = sorted(
    {
        "fs/nfs/": "NFS", "fs/nfsd/": "NFS server", "fs/btrfs/": "Btrfs", "fs/ext4/": "ext4",
        "fs/xfs/": "XFS", "fs/f2fs/": "F2FS", "fs/smb/": "SMB", "fs/cifs/": "CIFS/SMB client",
        "fs/fuse/": "FUSE", "fs/ocfs2/": "OCFS2", "fs/": "filesystem", "net/bluetooth/": "Bluetooth",
        "net/netfilter/": "netfilter", "net/ipv4/netfilter/": "netfilter", "net/ipv6/": "IPv6",
        "net/ipv4/": "IPv4", "net/sched/": "traffic control", "net/wireless/": "Wi-Fi",
        "net/mac80211/": "Wi-Fi (mac80211)", "net/": "networking", "drivers/net/wireless/": "Wi-Fi",
        "drivers/net/": "network drivers", "drivers/gpu/drm/": "DRM graphics", "drivers/usb/": "USB",
        "drivers/scsi/": "SCSI", "drivers/nvme/": "NVMe", "drivers/md/": "MD/device mapper",
        "drivers/block/": "block drivers", "drivers/hid/": "HID", "drivers/input/": "input",
        "drivers/tty/": "TTY", "drivers/media/": "media", "drivers/infiniband/": "RDMA",
        "drivers/staging/": "staging", "sound/": "sound", "arch/x86/kvm/": "KVM", "virt/kvm/": "KVM",
        "arch/x86/": "x86", "arch/arm64/": "arm64", "arch/powerpc/": "PowerPC", "arch/s390/": "s390",
        "arch/sparc64/": "SPARC64", "arch/sparc/": "SPARC", "mm/": "memory management",
        "kernel/bpf/": "BPF", "kernel/sched/": "scheduler", "kernel/trace/": "tracing",
        "kernel/": "core kernel", "io_uring/": "io_uring", "block/": "block layer",
        "security/": "security modules", "crypto/": "crypto", "ipc/": "IPC", "lib/": "library",
        "arch/i386/": "i386", "arch/x86_64/": "x86-64", "arch/arm/": "ARM", "arch/mips/": "MIPS",
        "arch/riscv/": "RISC-V", "arch/ia64/": "IA-64", "arch/loongarch/": "LoongArch", "arch/": "architecture",
        "drivers/pci/": "PCI", "drivers/acpi/": "ACPI", "drivers/bluetooth/": "Bluetooth",
        "drivers/iommu/": "IOMMU", "drivers/xen/": "Xen", "drivers/vfio/": "VFIO", "drivers/vhost/": "vhost",
        "drivers/char/": "character device drivers", "drivers/i2c/": "I2C", "drivers/spi/": "SPI",
        "drivers/mmc/": "MMC/SD", "drivers/mtd/": "MTD flash", "drivers/firmware/": "firmware",
        "drivers/hwmon/": "hardware monitoring", "drivers/thermal/": "thermal", "drivers/cpufreq/": "cpufreq",
        "drivers/platform/": "platform drivers", "drivers/android/": "Android binder",
        "drivers/base/": "driver core", "drivers/ata/": "ATA", "drivers/gpio/": "GPIO", "drivers/iio/": "IIO",
        "drivers/crypto/": "crypto drivers", "drivers/": "device drivers", "security/selinux/": "SELinux",
        "security/apparmor/": "AppArmor", "fs/proc/": "procfs", "fs/ntfs3/": "NTFS3", "fs/ceph/": "Ceph",
        "fs/gfs2/": "GFS2", "fs/overlayfs/": "overlayfs", "tools/": "tools", "Documentation/": "documentation",
    }.items(),
    key=lambda kv: -len(kv[0]),
)

# (bug class as an editor writes it, pattern on lower-cased text); first match wins.
BUG_CLASSES = [
    # first: a build fix names the warning or error it silences ("fix -Wmaybe-uninitialized warning")
    ("build problem", re.compile(r"\bcompil(e|er|ing|ation)\b|\bbuild (error|failure|warning|fix|break)|\bfix(es)? (the )?build\b|"
                                 r"\blink(er|ing)? (error|failure)|-w[a-z-]+|\bsparse warning|\bgcc\b|\bclang\b|\bobjtool\b")),
    ("use-after-free", re.compile(r"use[- ]after[- ]free|\buaf\b|dangling")),
    ("double free", re.compile(r"double[- ]free|freed twice")),
    ("out-of-bounds memory access", re.compile(r"out[- ]of[- ]bounds?|\boobs?\b|buffer overflow|overrun|overflows? the buffer|array[- ]index|slab-out")),
    ("NULL pointer dereference", re.compile(r"null[- ]?(pointer|ptr)?[- ]?deref|null pointer|null-ptr|\bnull\b|nullptr")),
    ("information leak", re.compile(r"info(rmation)? (leak|disclosure)|leak(s|ing)? (kernel |uninitiali[sz]ed |stack )?(memory|info|data|pointer|bytes)|kernel-infoleak|kmsan")),
    ("uninitialised memory use", re.compile(r"uninit")),
    ("missing permission check", re.compile(r"permission|privilege|\bcapable\b|\bcap_[a-z_]+|access check|bypass|unprivileged")),
    ("integer overflow", re.compile(r"integer overflow|overflow|underflow|wrap ?around|truncat")),
    ("division by zero", re.compile(r"divi(de|sion)[- ]by[- ]zero|div(ide)? by 0|\bdiv0\b|dividing by 0")),
    ("memory leak", re.compile(r"memory leak|memleak|\bleak")),
    ("reference count bug", re.compile(r"refcount|reference count|\bref(erence)? leak|use count")),
    ("deadlock", re.compile(r"deadlock|lock inversion|circular lock|recursive lock")),
    ("race condition", re.compile(r"\brac(e|es|y|ing)\b|data[- ]race|concurren")),
    # "bug" alone is any bug ("bug filing URL"); the BUG() crash reads "kernel BUG", "BUG:", "BUG()", "BUG at"
    ("crash", re.compile(r"crash|oops|panic|\bbug_on\b|\bbug\(|\bbug:|kernel bug|\bbug at\b|general protection|\bgpf\b|segfault|\bfaults?\b")),
    ("hang", re.compile(r"\bhangs?\b|stall|lockup|infinite loop|livelock|hung")),
    ("kernel warning", re.compile(r"\bwarn(ing|_on)?\b|splat")),
    ("comment or typo", re.compile(r"\bcomments?\b|\btypos?\b|\bspelling\b|\bkernel-?doc\b")),
    ("missing input validation", re.compile(r"validat|sanity check|bounds? check|\bcheck\b.*\b(length|size|len|index|count|range|value)|reject|\bclamp")),
]

_ANY_BUG = loose_precheck(*(rx.pattern for _, rx in BUG_CLASSES))

# Words that say the code is reachable from an unprivileged user.
USER_REACHABLE = re.compile(
    r"\bioctl|syscall|system call|setsockopt|getsockopt|sendmsg|recvmsg|\bnetlink\b|copy_from_user|"
    r"copy_to_user|get_user|put_user|user[- ]?space|userspace|user[- ]controlled|unprivileged|"
    r"local user|\bmmap\b|\bprocfs\b|/proc/|\bsysfs\b|debugfs|syzbot|syzkaller|fuzz"
)

ENHANCEMENT = re.compile(
    r"\badd(s|ed|ing)?\b.*\b(support|ids?|quirks?|device|devices|entry|entries|compatible|table|model)\b|"
    r"quirks?\b|device ids?|\bnew (device|id|model)\b|\bsupport (for|of)\b|\benable\b.*\bsupport\b|"
    r"\bexport\b|\bhelpers?\b|\bintroduce\b|performance|speed ?up|\bfaster\b|\boptimi[sz]|"
    r"\bimprove\b|\bmodali(as|sa)\b|\ballow(list)?\b|denylist|blacklist|whitelist"
)
_MAYBE_ENHANCEMENT = loose_precheck(ENHANCEMENT.pattern)
# Stable picks up refactors that a later fix needs ("Stable-dep-of:"): say so instead of "Functional fix".
CLEANUP = re.compile(r"\brenam(e|es|ed|ing)\b|\bclean ?ups?\b|\brefactor|\bsimplif|\bunused\b|\bdead code\b|"
                     r"\bprepar(e|ation) for\b|\bfactor out\b|\bsplit\b.*\binto\b|\bmove\b.*\b(to|into|out of)\b|"
                     r"\bremove\b.*\b(variables?|function|helper|macro|field|member|parameter|argument)s?\b")
FIXING = re.compile(r"\bfix|\bbug\b|\bcrash|\bleak|\bavoid\b|\bprevent\b|\bbroken\b|\bwrong\b|\bincorrect\b|\brevert\b")


def subsystem_of(subject: str, files: list[str] | None = None) -> str:
    """Return a readable subsystem, e.g. "NFS: fix x" -> "NFS"; else from the first touched file."""
    prefixes, _ = split_subject(reverted_subject(subject) or subject)
    if prefixes:
        parts = re.split(r"[/,:\s]+", prefixes[0].strip().lower())
        head = parts[0] if parts else ""
        if head in SUBSYSTEM_NAMES:
            name = SUBSYSTEM_NAMES[head]
            # "drm/amdgpu", "usb: gadget" -> keep the driver for the reader
            sub = [p for p in parts[1:] if p]
            if not sub and len(prefixes) > 1:
                sub = [prefixes[1].strip().lower()]
            return f"{name} ({sub[0]})" if sub and sub[0] not in SUBSYSTEM_NAMES and name not in {"networking"} else name
        if head:
            return prefixes[0].strip()
    tool = _TOOL_PREFIX.match(reverted_subject(subject) or subject)  # "perf lock: ...", "selftests net: ..."
    if tool and tool.group(1).lower() in SUBSYSTEM_NAMES:
        return f"{SUBSYSTEM_NAMES[tool.group(1).lower()]} ({tool.group(2)})"
    for path in files or []:
        for prefix, name in PATH_NAMES:
            if path.startswith(prefix):
                return name
    return "kernel"


_TOOL_PREFIX = re.compile(r"^(?:\[[^\]]*\]\s*)*([A-Za-z0-9_-]+) ([A-Za-z0-9_-]+): ")


def bug_class(text: str, *, skip: tuple[str, ...] = ()) -> str | None:
    """Return the first bug class named in lower-cased `text`, e.g. "fix uaf in x" -> "use-after-free"."""
    if not _ANY_BUG.search(text):  # most subjects name no bug class: one search instead of 19
        return None
    for name, rx, pre in _BUG_CLASSES_PRE:
        if name not in skip and pre.search(text) and rx.search(text):
            return name
    return None


# Speed (a commit message is thousands of characters): each class is first looked for without its
# word boundaries, which lets the regex engine skip ahead to a literal; only a hit runs the real pattern.
_BUG_CLASSES_PRE = tuple((name, rx, loose_precheck(rx.pattern)) for name, rx in BUG_CLASSES)


HARMLESS = ("build problem", "comment or typo")  # never the impact of a security-related fix


def is_enhancement(subject: str) -> bool:
    """Say whether a subject reads as new hardware support, a quirk, a helper, performance work or a cleanup.

    Stable takes cleanups and renames that a later fix builds on ("Stable-dep-of:"):
    they change no behaviour, so they are not bug fixes.
    """
    text = subject.lower()
    if FIXING.search(text):
        return False
    if _MAYBE_ENHANCEMENT.search(text) and ENHANCEMENT.search(text):
        return True
    _, desc = split_subject(subject)
    m = CLEANUP.search(desc.lower())
    # "cleanup" as a noun ("for single transaction cleanup") names a code path, not a cleanup patch
    return bool(m) and not (m.group().startswith("clean") and m.start() > 0)


def impact_line(category: str, subject: str, subsystem: str, *, text: str = "", user_reachable: bool = False) -> str:
    """Return one plain-English impact line, e.g. "User-triggerable NULL pointer dereference in the NFS code"."""
    where = _where(subsystem)
    undone = reverted_subject(_PREFIXES.sub("", subject))  # "scsi: Revert \"...\"" is a revert too
    if undone is not None:
        _, what = split_subject(undone)
        if category == "security":
            return f"Security-relevant revert of \u201c{what}\u201d in {where}"
        return f"Reverts \u201c{what}\u201d in {where}"
    kind = _bug_kind(subject, text, security=category == "security")
    if category == "security":
        lead = "User-triggerable" if user_reachable else "Possible"
        if kind is None:
            return f"{lead} security-relevant bug in {where}" if user_reachable else f"Security-relevant fix in {where}"
        return f"{lead} {kind} in {where}"
    if category == "enhancement":
        low = subject.lower()
        if re.search(r"quirk|device id|\bids?\b|support|compatible|\bnew (device|id|model|hardware|board|soc|chip)|model", low):
            return f"Hardware enablement (new device support or quirk) in {where}"
        if re.search(r"performance|speed ?up|faster|optimi[sz]|improve", low):
            return f"Performance improvement in {where}"
        if CLEANUP.search(low):
            return f"Cleanup or refactoring (often what a later fix builds on) in {where}"
        return f"New helper or interface in {where}"
    if subsystem in PAPERWORK:
        return f"Update to {where}"
    if kind:
        return f"Fixes {_article(kind)} {kind} in {where}"
    if CLEANUP.search(subject.lower()):
        return f"Cleanup or refactoring (often what a later fix builds on) in {where}"
    return f"Functional fix in {where}"


def _bug_kind(subject: str, text: str, *, security: bool) -> str | None:
    """The bug class to name: a build or comment fix only when the subject says so.

    Messages mention the compiler and comments in passing ("Compile-tested
    only", "a typo in the original commit broke ..."): read there, they
    would call a real fix harmless.
    """
    said = bug_class(subject.lower())
    if not security and said in HARMLESS:
        return said
    if said and said not in HARMLESS and said not in VAGUE:  # the subject's own words, when it names the bug
        return said
    return bug_class((subject + "\n" + text).lower(), skip=HARMLESS)


# Classes a subject often names loosely ("fix crash"): the message usually says which bug it was.
VAGUE = ("crash", "kernel warning", "hang", "missing input validation", "race condition")


def _article(noun: str) -> str:
    if noun.lower().startswith(("use", "user")):  # "a use-after-free": the sound, not the letter
        return "a"
    return "an" if noun[:1].lower() in "aeiou" else "a"


_PREFIXES = re.compile(r"^(?:\[[^\]]*\]\s*)*(?:[\w./+-]+:\s+)+(?=revert\b)", re.I)


def _where(subsystem: str) -> str:
    if subsystem.lower().endswith(("driver", "drivers", "code", "layer", "documentation", "tools", "file")):
        return f"the {subsystem}"
    return f"the {subsystem} code"


# How a bug is reached, in the words an advisory uses; first match wins (lower-cased message).
REACH = [
    ("on device disconnect", re.compile(r"\b(disconnect(ed|s|ing)?|unplug(ged|s|ging)?|hot-?unplug|surprise remov)")),
    ("by a malicious or broken USB device", re.compile(r"\b(malicious|broken|bogus|fake|crafted|evil) (usb )?(device|descriptor)")),
    ("with a crafted filesystem image", re.compile(r"\b(crafted|corrupted|malicious|fuzzed|damaged) (\w+ )?(image|filesystem|file system|fs|disk|superblock)")),
    ("by a crafted network packet", re.compile(r"\b(crafted|malicious|malformed|short|truncated) (\w+ )?(packet|frame|skb|message from the (peer|network))")),
    ("through an ioctl", re.compile(r"\bioctl")),
    ("through netlink", re.compile(r"\bnetlink\b")),
    ("through a system call", re.compile(r"\bsyscall\b|\bsystem call\b")),
    ("through the socket API", re.compile(r"\bsetsockopt|getsockopt|sendmsg|recvmsg|\bsocket\(")),
    ("from user space", re.compile(r"\b(user ?space|unprivileged user|local user)s? (can|could|may|might)\b|copy_(from|to)_user")),
    ("through sysfs or procfs", re.compile(r"\bsysfs\b|/sys/|\bprocfs\b|/proc/")),
    ("through debugfs", re.compile(r"\bdebugfs\b")),
    ("on mount", re.compile(r"\b(during|on|at) mount\b|\bmount(ing)? (a|an|the) ")),
    ("on suspend or resume", re.compile(r"\b(suspend|resume|hibernat)\w*")),
    ("on driver probe or removal", re.compile(r"\b(probe|remove|unbind|module unload|rmmod)\b")),
    ("on an error path", re.compile(r"\berror (path|handling)|\bon error\b|\bfails?\b")),
]
INFO_TO_USER = re.compile(r"(leak|leaks|leaking|expose|exposes|copied|copies) .{0,60}(to|into) user ?space|kernel-infoleak|infoleak")
_INFO_TO_USER_PRE = re.compile(r"leak|expose|copied|copies")
_REACH_PRE = tuple((words, rx, loose_precheck(rx.pattern)) for words, rx in REACH)
_ANY_REACH = loose_precheck(*(rx.pattern for _, rx in REACH))


def how_reached(text: str, *, found_by: str | None = None, reach: bool = True) -> str:
    """Return the clause that says how the bug is reached and who found it, e.g. ", on device disconnect, found by syzbot".

    `text` is the lower-cased commit message; "" when it says neither.
    """
    parts = []
    if not reach:
        pass
    elif _INFO_TO_USER_PRE.search(text) and INFO_TO_USER.search(text):
        parts.append("leaking kernel memory to user space")
    elif _ANY_REACH.search(text):
        for words, rx, pre in _REACH_PRE:
            if pre.search(text) and rx.search(text):
                parts.append(words)
                break
    if found_by:
        parts.append(f"found by {found_by}")
    return "".join(", " + p for p in parts)
