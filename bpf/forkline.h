/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Record layouts shared by the BPF programs and the C# decoders
 * (src/Collector/Decoding/RecordLayout.cs). A layout change here must change there too;
 * tests/Forkline.Collector.Tests checks sizes and offsets against this file.
 *
 * Every ktime is bpf_ktime_get_boot_ns(): nanoseconds since boot, suspend included. That is the
 * clock /proc/<pid>/stat field 22 counts (in USER_HZ ticks), so a procfs bootstrap entry and a
 * BPF event name the same process the same way.
 */
#ifndef FORKLINE_H
#define FORKLINE_H

#define FL_RECORD_VERSION 1

#define FL_FILENAME_MAX 256
#define FL_ARGS_MAX 1024
#define FL_CWD_MAX 256
#define FL_HOOK_ARGS 6
#define FL_SYSCALL_MAX 512
/* Longest cgroup directory name kept: a runtime's "cri-containerd-<64 hex>.scope" is 86 bytes. */
#define FL_CGROUP_NAME_MAX 128

/*
 * Granularity of a process start time in /proc/<pid>/stat field 22: one USER_HZ tick. USER_HZ is
 * 100 on every architecture (it is the ABI value, independent of the kernel's HZ). A process the BPF
 * side has never seen gets start_boottime cut to this granularity, so BPF and the procfs bootstrap
 * name it the same way.
 */
#define FL_PROCFS_TICK_NS 10000000ULL

/* fl_hook_event.syscall_nr of a hook that is not a syscall (kprobe). */
#define FL_HOOK_NO_SYSCALL 0xffff

enum fl_kind {
	FL_KIND_CLONE = 1,
	FL_KIND_EXEC = 2,
	FL_KIND_EXIT = 3,
	FL_KIND_HOOK = 4,
	FL_KIND_MAX = 5,
};

enum fl_exec_flags {
	FL_EXEC_FILENAME_TRUNCATED = 1 << 0,
	FL_EXEC_ARGS_TRUNCATED = 1 << 1,
	FL_EXEC_CWD_TRUNCATED = 1 << 2,
	FL_EXEC_ARGS_UNREADABLE = 1 << 3, /* argv page not resident: bpf_probe_read_user failed */
	FL_EXEC_PARENT_UNKNOWN = 1 << 4,  /* parent has no live-leader map entry */
	FL_EXEC_PROCFS = 1 << 16,         /* synthesized from /proc by userspace at collector start */
};

enum fl_hook_phase {
	FL_HOOK_ENTER = 0,
	FL_HOOK_EXIT = 1, /* after the syscall: ret is valid, credentials are the new ones */
};

/* Common prefix of every record. */
struct fl_header {
	__u16 kind;    /* enum fl_kind */
	__u16 version; /* FL_RECORD_VERSION */
	__u32 size;    /* bytes of the whole record, header included */
	__u64 ktime;   /* when the event happened */
	__u32 pid;     /* thread-group id */
	__u32 tid;     /* thread id; == pid for clone, exec and exit */
};

/* Identity of one process image on a host: pid + the ktime its image started. */
struct fl_key {
	__u32 pid;
	__u32 pad;
	__u64 start_ktime;
};

struct fl_creds {
	__u32 uid, gid, euid, egid, suid, sgid, fsuid, fsgid;
};

struct fl_caps {
	__u64 permitted, effective, inheritable;
};

struct fl_ns {
	__u32 uts, ipc, mnt, pid, pid_for_children, net, time, time_for_children, cgroup, user;
};

enum fl_leader_flags {
	FL_LEADER_SEEDED = 1 << 0, /* written by the procfs bootstrap, not by a BPF fork/exec */
};

/* Value of the live-leaders map (key: __u32 pid). */
/* A cgroup as a container runtime names it: its directory and the one above (the pod's, under
 * kubepods). Names are NUL-terminated; an empty name means none (the root, or not mounted). */
struct fl_cgroup {
	__u64 id; /* kernfs node id: the cgroup's inode number in its hierarchy */
	char name[FL_CGROUP_NAME_MAX];
	char parent[FL_CGROUP_NAME_MAX];
};

struct fl_leader {
	__u64 start_ktime; /* start of the current image of this pid */
	struct fl_key parent;
	__u32 flags;       /* enum fl_leader_flags */
	__u32 pad;
};

struct fl_clone_event {
	struct fl_header h;  /* pid == tid == the child; ktime == its start */
	struct fl_key parent;
	struct fl_creds creds;
	__u32 auid;
	__u32 pad;
	__u64 cgroup_id;
};

struct fl_exec_event {
	struct fl_header h;   /* ktime == start of the new image */
	struct fl_key parent; /* the process that forked this pid */
	struct fl_key replaced; /* the image this exec replaces (same pid); start_ktime 0 if none known */
	struct fl_creds creds;
	struct fl_caps caps;
	struct fl_ns ns;
	__u32 auid;
	__u32 flags;          /* enum fl_exec_flags */
	__u64 cgroup_id;
	__u16 filename_len;   /* bytes used in filename, no NUL */
	__u16 args_len;       /* bytes used in args: NUL-separated argv, argv[0] included */
	__u16 cwd_len;        /* bytes used in cwd, no NUL */
	__u16 pad;
	char filename[FL_FILENAME_MAX];
	char args[FL_ARGS_MAX];
	char cwd[FL_CWD_MAX];
	__u32 securebits;   /* cred->securebits of the new image */
	__u32 ns_pid;       /* the pid in the process's own pid namespace (1: a namespace's init) */
	__s32 userns_level; /* nesting of the credentials' user namespace; 0 is the host's; -1: not known
			     * (userspace-made records: /proc does not tell) */
	__u32 userns_owner; /* uid and gid that created that user namespace */
	__u32 userns_group;
	__u32 file_mode;    /* i_mode, owner and group of the executed file (set-user/group-ID) */
	__u32 file_uid;
	__u32 file_gid;
	__u32 file_nlink;   /* hard links of the executed file: 0 for a memfd, a POSIX shm object or a deleted file */
	__u32 file_pad;
	__u64 file_ino;     /* the executed file's inode number (Tetragon's binary_properties.file.inode) */
	struct fl_cgroup unified; /* the cgroup v2 hierarchy's */
	struct fl_cgroup legacy;  /* the cgroup v1 memory controller's hierarchy's (== unified on v2 only hosts) */
};

struct fl_exit_event {
	struct fl_header h;  /* tid == pid, always: the exit pairs with the exec */
	__u64 start_ktime;   /* start of the image that exits */
	__u32 exit_code;     /* wait status: (status << 8) | signal, core-dump bit 0x80 */
	__u32 last_tid;      /* the thread whose exit ended the group (for diagnostics) */
};

struct fl_hook_event {
	struct fl_header h;  /* tid: the calling thread */
	__u64 start_ktime;   /* start of the current image of h.pid */
	__u32 hook_id;       /* index in the loaded hook policy */
	__u16 phase;         /* enum fl_hook_phase */
	__u16 syscall_nr;
	__s64 ret;           /* FL_HOOK_EXIT only */
	struct fl_creds creds; /* the calling thread's own */
	struct fl_caps caps;
	struct fl_ns ns;
	__u64 args[FL_HOOK_ARGS];
};

/* Value of the hook-selection map (key: __u32 syscall number). */
struct fl_hook_sel {
	__u32 hook_id_enter; /* 0: not hooked at entry; else hook id + 1 */
	__u32 hook_id_exit;  /* 0: not hooked at exit; else hook id + 1 */
};

/* Index of the per-CPU counters fl_produced (reservations tried) and fl_lost (reservations failed): one slot per enum fl_kind. */

#endif
