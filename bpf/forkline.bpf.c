// SPDX-License-Identifier: GPL-2.0-only
/*
 * Forkline kernel side: process lifecycle (fork, exec, exit of thread-group leaders) and hook
 * events (selected syscalls, kprobes) written to one ring buffer. Record layouts: forkline.h.
 *
 * Everything that reads a kernel structure goes through CO-RE (BPF_CORE_READ, field-existence
 * checks), so one object runs on any kernel with BTF.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "forkline.h"

char LICENSE[] SEC("license") = "GPL";

/* Kernel macros that BTF does not carry; their values are ABI-stable. */
#define SIGNAL_GROUP_EXIT 0x00000004 /* signal_struct.flags: the group was killed or exit_group'ed */
#define TS_COMPAT 0x0002             /* x86 thread_info.status: a 32-bit syscall is running */

/* libbpf before 1.2 stops at the fifth argument register. */
#ifndef PT_REGS_PARM6
#if defined(__TARGET_ARCH_x86)
#define PT_REGS_PARM6(x) ((x)->r9)
#define PT_REGS_PARM6_CORE_SYSCALL(x) BPF_CORE_READ(x, r9)
#elif defined(__TARGET_ARCH_arm64)
#define PT_REGS_PARM6(x) (((struct user_pt_regs *)(x))->regs[5])
#define PT_REGS_PARM6_CORE_SYSCALL(x) BPF_CORE_READ((struct user_pt_regs *)(x), regs[5])
#else
#error "PT_REGS_PARM6: argument register unknown for this architecture"
#endif
#endif

/* Path components walked for a cwd; deeper paths keep their innermost part and are flagged. */
#define FL_CWD_DEPTH 64

/* Bytes waiting in the ring buffer from which every record wakes the consumer (it may be sleeping
 * out its batching delay while a burst fills the ring). Below that the kernel's adaptive rule
 * applies: only a record written into a ring the consumer had emptied wakes it, so a waiting
 * consumer is woken once per batch, never per record, and an idle one not at all. */
const volatile __u32 fl_wakeup_bytes = 256 * 1024;

/* Thread group whose hook events are dropped (the collector itself); 0 keeps all. */
const volatile __u32 fl_self_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024);
} fl_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144);
	__type(key, __u32);
	__type(value, struct fl_leader);
} fl_leaders SEC(".maps");

/*
 * Thread groups whose exit was reported (value unused). Inserting with BPF_NOEXIST is the atomic
 * "first thread wins" that keeps the exit event single when threads die at once; fl_fork clears the
 * key when the pid starts a new group. A claim only has to outlive the few microseconds in which
 * the group's threads pass the exit tracepoint, so LRU eviction of old ones is harmless.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, __u8);
} fl_exit_claims SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FL_SYSCALL_MAX);
	__type(key, __u32);
	__type(value, struct fl_hook_sel);
} fl_hook_sel SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_KIND_MAX);
	__type(key, __u32);
	__type(value, __u64);
} fl_lost SEC(".maps");

/* Records each program tried to put into the ring, per kind: the kernel end of the loss accounting. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FL_KIND_MAX);
	__type(key, __u32);
	__type(value, __u64);
} fl_produced SEC(".maps");

/* Kernels before 5.5 name the boot-clock start time real_start_time. */
struct task_struct___pre_5_5 {
	__u64 real_start_time;
} __attribute__((preserve_access_index));

/* Kernels before 6.15 name the kernfs parent "parent" (now "__parent", read under RCU). */
struct kernfs_node___pre_6_15 {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

/* ---- ring buffer ---------------------------------------------------------------------------- */

static __always_inline void *fl_reserve(__u32 size, __u32 kind)
{
	__u64 *produced = bpf_map_lookup_elem(&fl_produced, &kind);
	void *record;

	if (produced)
		(*produced)++;
	record = bpf_ringbuf_reserve(&fl_events, size, 0);
	if (!record) {
		__u64 *lost = bpf_map_lookup_elem(&fl_lost, &kind);

		if (lost)
			(*lost)++;
	}
	return record;
}

static __always_inline void fl_submit(void *record)
{
	__u64 waiting = bpf_ringbuf_query(&fl_events, BPF_RB_AVAIL_DATA);

	bpf_ringbuf_submit(record, waiting < fl_wakeup_bytes ? 0 : BPF_RB_FORCE_WAKEUP);
}

static __always_inline void fl_header(struct fl_header *h, __u16 kind, __u32 size, __u64 ktime,
				      __u32 pid, __u32 tid)
{
	h->kind = kind;
	h->version = FL_RECORD_VERSION;
	h->size = size;
	h->ktime = ktime;
	h->pid = pid;
	h->tid = tid;
}

/* ---- process identity ----------------------------------------------------------------------- */

/*
 * The identity /proc gives a thread group (stat field 22: the leader's start_boottime in USER_HZ
 * ticks), for a group this program has never seen: it started before the collector and the
 * procfs bootstrap has not seeded it yet. Assumes no time namespace offset between the process
 * and the collector (procfs adds the reader's offset).
 */
static __always_inline __u64 fl_procfs_start(struct task_struct *task)
{
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);
	__u64 boot_ns;

	if (bpf_core_field_exists(leader->start_boottime))
		boot_ns = BPF_CORE_READ(leader, start_boottime);
	else
		boot_ns = BPF_CORE_READ((struct task_struct___pre_5_5 *)leader, real_start_time);
	return boot_ns / FL_PROCFS_TICK_NS * FL_PROCFS_TICK_NS;
}

/* Start ktime of the current image of task's thread group; *in_map (if given) tells whether it
 * came from the live-leaders map rather than the procfs identity. */
static __always_inline __u64 fl_image_start(struct task_struct *task, bool *in_map)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	struct fl_leader *leader = bpf_map_lookup_elem(&fl_leaders, &tgid);

	if (in_map)
		*in_map = leader != NULL;
	return leader ? leader->start_ktime : fl_procfs_start(task);
}

/* ---- credentials, capabilities, namespaces --------------------------------------------------- */

static __always_inline void fl_read_creds(struct task_struct *task, struct fl_creds *creds,
					  struct fl_caps *caps)
{
	/* real_cred: the thread's objective credentials, not a temporary override_creds(). */
	const struct cred *cred = BPF_CORE_READ(task, real_cred);

	creds->uid = BPF_CORE_READ(cred, uid.val);
	creds->gid = BPF_CORE_READ(cred, gid.val);
	creds->euid = BPF_CORE_READ(cred, euid.val);
	creds->egid = BPF_CORE_READ(cred, egid.val);
	creds->suid = BPF_CORE_READ(cred, suid.val);
	creds->sgid = BPF_CORE_READ(cred, sgid.val);
	creds->fsuid = BPF_CORE_READ(cred, fsuid.val);
	creds->fsgid = BPF_CORE_READ(cred, fsgid.val);
	if (!caps)
		return;
	/* kernel_cap_t is { u64 val } since 6.3 and { u32 cap[2] } before: both are the same 8
	 * little-endian bytes, so read the field as one u64 wherever it lives. */
	bpf_core_read(&caps->permitted, sizeof(__u64), &cred->cap_permitted);
	bpf_core_read(&caps->effective, sizeof(__u64), &cred->cap_effective);
	bpf_core_read(&caps->inheritable, sizeof(__u64), &cred->cap_inheritable);
}

static __always_inline __u32 fl_auid(struct task_struct *task)
{
	if (!bpf_core_field_exists(task->loginuid))
		return (__u32)-1; /* no CONFIG_AUDIT: the kernel's "unset" value */
	return BPF_CORE_READ(task, loginuid.val);
}

/* Returns the thread's pid in its own pid namespace. */
static __always_inline __u32 fl_read_ns(struct task_struct *task, struct fl_ns *ns)
{
	struct nsproxy *proxy = BPF_CORE_READ(task, nsproxy);
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid upid = {};

	ns->uts = BPF_CORE_READ(proxy, uts_ns, ns.inum);
	ns->ipc = BPF_CORE_READ(proxy, ipc_ns, ns.inum);
	ns->mnt = BPF_CORE_READ(proxy, mnt_ns, ns.inum);
	ns->pid_for_children = BPF_CORE_READ(proxy, pid_ns_for_children, ns.inum);
	ns->net = BPF_CORE_READ(proxy, net_ns, ns.inum);
	ns->cgroup = BPF_CORE_READ(proxy, cgroup_ns, ns.inum);
	ns->user = BPF_CORE_READ(task, real_cred, user_ns, ns.inum);
	if (bpf_core_field_exists(proxy->time_ns)) {
		ns->time = BPF_CORE_READ(proxy, time_ns, ns.inum);
		ns->time_for_children = BPF_CORE_READ(proxy, time_ns_for_children, ns.inum);
	} else {
		ns->time = 0;
		ns->time_for_children = 0;
	}
	/* The active pid namespace is the one the thread's pid was allocated in, at its own level
	 * (task_active_pid_ns); nsproxy only holds the one for children. */
	bpf_core_read(&upid, sizeof(upid),
		      (void *)pid + bpf_core_field_offset(struct pid, numbers) + level * sizeof(struct upid));
	ns->pid = BPF_CORE_READ(upid.ns, ns.inum);
	return upid.nr;
}

/* ---- cgroups (container identity) ----------------------------------------------------------- */

static __always_inline struct kernfs_node *fl_kernfs_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(kn->__parent))
		return BPF_CORE_READ(kn, __parent);
	return BPF_CORE_READ((struct kernfs_node___pre_6_15 *)kn, parent);
}

/* The names are what a runtime chose (docker-<id>.scope, pod<uid>/<id>, ...); userspace reads the
 * container id and pod uid out of them once per cgroup id. The hierarchy's root has no name. */
static __always_inline void fl_read_cgroup(struct cgroup *cgrp, struct fl_cgroup *out)
{
	struct kernfs_node *kn = BPF_CORE_READ(cgrp, kn);
	struct kernfs_node *up = kn ? fl_kernfs_parent(kn) : NULL;

	out->id = kn ? BPF_CORE_READ(kn, id) : 0;
	out->name[0] = 0;
	out->parent[0] = 0;
	if (!up)
		return;
	bpf_probe_read_kernel_str(out->name, FL_CGROUP_NAME_MAX, BPF_CORE_READ(kn, name));
	if (fl_kernfs_parent(up))
		bpf_probe_read_kernel_str(out->parent, FL_CGROUP_NAME_MAX, BPF_CORE_READ(up, name));
}

/* Container runtimes on cgroup v1 (and hybrid) hosts place a container in every controller's
 * hierarchy; the memory controller is the one each of them sets up. */
static __always_inline void fl_read_cgroups(struct task_struct *task, struct fl_exec_event *event)
{
	struct css_set *cset = BPF_CORE_READ(task, cgroups);
	struct cgroup_subsys_state *css = NULL;

	fl_read_cgroup(BPF_CORE_READ(cset, dfl_cgrp), &event->unified);
	if (bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id)) {
		__u32 memory = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);

		bpf_core_read(&css, sizeof(css), &cset->subsys[memory]);
	}
	if (css) {
		fl_read_cgroup(BPF_CORE_READ(css, cgroup), &event->legacy);
	} else {
		event->legacy.id = 0;
		event->legacy.name[0] = 0;
		event->legacy.parent[0] = 0;
	}
}

/* Credentials that Tetragon's process_credentials carries beyond the ids, the executed file's
 * set-ID bits, from which userspace tells a set-user-ID / set-group-ID exec, and its inode and link
 * count, from which it tells an exec of a file in no file system (fexecve of a memfd, a deleted binary). */
static __always_inline void fl_read_exec_privileges(struct task_struct *task, struct linux_binprm *bprm,
						    struct fl_exec_event *event)
{
	const struct cred *cred = BPF_CORE_READ(task, real_cred);
	struct user_namespace *user_ns = BPF_CORE_READ(cred, user_ns);
	struct inode *inode = BPF_CORE_READ(bprm, file, f_inode);

	event->securebits = BPF_CORE_READ(cred, securebits);
	event->userns_level = BPF_CORE_READ(user_ns, level);
	event->userns_owner = BPF_CORE_READ(user_ns, owner.val);
	event->userns_group = BPF_CORE_READ(user_ns, group.val);
	event->file_mode = BPF_CORE_READ(inode, i_mode);
	event->file_uid = BPF_CORE_READ(inode, i_uid.val);
	event->file_gid = BPF_CORE_READ(inode, i_gid.val);
	event->file_nlink = BPF_CORE_READ(inode, i_nlink);
	event->file_pad = 0;
	event->file_ino = BPF_CORE_READ(inode, i_ino);
}

/* ---- clone ---------------------------------------------------------------------------------- */

SEC("tp_btf/sched_process_fork")
int BPF_PROG(fl_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 child_pid = BPF_CORE_READ(child, pid);
	__u32 child_tgid = BPF_CORE_READ(child, tgid);
	__u64 now = bpf_ktime_get_boot_ns();
	struct fl_leader leader = { .start_ktime = now };
	struct fl_clone_event *event;

	/* A new thread joins an existing process; only a new thread group is a new process. */
	if (child_pid != child_tgid)
		return 0;

	leader.parent.pid = BPF_CORE_READ(parent, tgid);
	leader.parent.start_ktime = fl_image_start(parent, NULL);
	/* BPF_ANY: an entry left behind for a recycled pid is stale by definition. */
	bpf_map_update_elem(&fl_leaders, &child_tgid, &leader, BPF_ANY);
	bpf_map_delete_elem(&fl_exit_claims, &child_tgid);

	event = fl_reserve(sizeof(*event), FL_KIND_CLONE);
	if (!event)
		return 0;
	fl_header(&event->h, FL_KIND_CLONE, sizeof(*event), now, child_tgid, child_tgid);
	event->parent = leader.parent;
	fl_read_creds(child, &event->creds, NULL);
	event->auid = fl_auid(child);
	event->pad = 0;
	event->cgroup_id = BPF_CORE_READ(child, cgroups, dfl_cgrp, kn, id);
	fl_submit(event);
	return 0;
}

/* ---- exec ----------------------------------------------------------------------------------- */

/*
 * Writes the cwd of task into event->cwd, walking dentries up to the task's root and crossing
 * mount points. The path is built right to left in scratch (which the caller overwrites later),
 * then copied to the front of cwd. Returns FL_EXEC_CWD_TRUNCATED when components were cut.
 *
 * The write cursor lives in event->cwd_len, not in a register: read back from memory it is an
 * unknown value to the verifier on every iteration, so the loop-head states of all paths prune
 * to one. Kept in a register, its exact range differs after every mix of "component" and "mount
 * crossing" steps and verification grows exponentially with FL_CWD_DEPTH.
 */
static __always_inline __u32 fl_read_cwd(struct task_struct *task, struct fl_exec_event *event,
					 char *scratch)
{
	volatile __u16 *cursor = &event->cwd_len;
	struct fs_struct *fs = BPF_CORE_READ(task, fs);
	struct path root, pwd;
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	__u32 flags = FL_EXEC_CWD_TRUNCATED;
	__u32 pos, len;

	bpf_core_read(&root, sizeof(root), &fs->root);
	bpf_core_read(&pwd, sizeof(pwd), &fs->pwd);
	dentry = pwd.dentry;
	vfsmnt = pwd.mnt;
	mnt = (void *)vfsmnt - bpf_core_field_offset(struct mount, mnt);
	*cursor = FL_CWD_MAX; /* the path built so far is scratch[*cursor, FL_CWD_MAX) */

	for (int i = 0; i < FL_CWD_DEPTH; i++) {
		struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
		const unsigned char *name;

		if (dentry == root.dentry && vfsmnt == root.mnt) {
			flags = 0;
			break;
		}
		if (dentry == BPF_CORE_READ(vfsmnt, mnt_root) || dentry == parent) {
			struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

			if (up == mnt) { /* top of the mount tree: the task's root is outside it */
				flags = 0;
				break;
			}
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = up;
			vfsmnt = (void *)up + bpf_core_field_offset(struct mount, mnt);
			continue;
		}
		len = BPF_CORE_READ(dentry, d_name.len);
		name = BPF_CORE_READ(dentry, d_name.name);
		pos = *cursor;
		if (len + 1 > pos)
			break;
		pos -= len + 1;
		scratch[pos & (FL_CWD_MAX - 1)] = '/';
		/* pos + 1 + len <= FL_CWD_MAX here; the masks only make that visible to the verifier. */
		bpf_probe_read_kernel(scratch + ((pos + 1) & (FL_CWD_MAX - 1)), len & (FL_CWD_MAX - 1), name);
		*cursor = pos;
		dentry = parent;
	}

	pos = *cursor;
	if (pos >= FL_CWD_MAX) { /* the cwd is the root */
		pos = FL_CWD_MAX - 1;
		scratch[pos] = '/';
	}
	len = FL_CWD_MAX - pos;
	bpf_probe_read_kernel(event->cwd, len, scratch + pos);
	*cursor = len;
	return flags;
}

static __always_inline __u32 fl_read_filename(struct linux_binprm *bprm, struct fl_exec_event *event)
{
	const char *filename = BPF_CORE_READ(bprm, filename);
	long copied = bpf_probe_read_kernel_str(event->filename, FL_FILENAME_MAX, filename);
	char next = 0;

	if (copied <= 0) {
		event->filename_len = 0;
		return 0;
	}
	event->filename_len = copied - 1; /* without the NUL */
	if (copied < FL_FILENAME_MAX)
		return 0;
	/* The copy is full: the name was cut unless its NUL was exactly the last byte copied. */
	bpf_probe_read_kernel(&next, 1, filename + FL_FILENAME_MAX - 1);
	return next ? FL_EXEC_FILENAME_TRUNCATED : 0;
}

static __always_inline __u32 fl_read_args(struct task_struct *task, struct fl_exec_event *event)
{
	unsigned long arg_start = BPF_CORE_READ(task, mm, arg_start);
	unsigned long arg_end = BPF_CORE_READ(task, mm, arg_end);
	__u64 len = arg_end - arg_start;
	__u32 flags = 0;

	if (len > FL_ARGS_MAX) {
		len = FL_ARGS_MAX;
		flags = FL_EXEC_ARGS_TRUNCATED;
	}
	/* At this tracepoint the new stack pages were just written by the kernel, so they are
	 * resident; a failure means a broken mm, reported rather than hidden. */
	if (bpf_probe_read_user(event->args, len, (void *)arg_start) != 0) {
		event->args_len = 0;
		return flags | FL_EXEC_ARGS_UNREADABLE;
	}
	event->args_len = len;
	return flags;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(fl_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	/* After a successful exec only the execing thread is left, and it is the group leader
	 * (de_thread() gave it the leader's pid if it was another thread): report tid == pid. */
	__u32 pid = BPF_CORE_READ(task, tgid);
	__u64 now = bpf_ktime_get_boot_ns();
	struct fl_leader *known = bpf_map_lookup_elem(&fl_leaders, &pid);
	struct fl_key replaced = { .pid = pid };
	struct fl_leader leader = { .start_ktime = now };
	struct fl_exec_event *event;
	__u32 flags = 0;

	if (known) {
		replaced.start_ktime = known->start_ktime;
		leader.parent = known->parent;
	} else {
		struct task_struct *real_parent = BPF_CORE_READ(task, real_parent);
		bool parent_in_map;

		/* Started before the collector and not seeded yet: name both the way /proc does. */
		replaced.start_ktime = fl_procfs_start(task);
		leader.parent.pid = BPF_CORE_READ(real_parent, tgid);
		leader.parent.start_ktime = fl_image_start(real_parent, &parent_in_map);
		if (!parent_in_map)
			flags |= FL_EXEC_PARENT_UNKNOWN;
	}
	bpf_map_update_elem(&fl_leaders, &pid, &leader, BPF_ANY);

	event = fl_reserve(sizeof(*event), FL_KIND_EXEC);
	if (!event)
		return 0;
	fl_header(&event->h, FL_KIND_EXEC, sizeof(*event), now, pid, pid);
	event->parent = leader.parent;
	event->replaced = replaced;
	fl_read_creds(task, &event->creds, &event->caps);
	event->ns_pid = fl_read_ns(task, &event->ns);
	event->auid = fl_auid(task);
	event->cgroup_id = bpf_get_current_cgroup_id();
	fl_read_exec_privileges(task, bprm, event);
	fl_read_cgroups(task, event);
	event->pad = 0;
	flags |= fl_read_filename(bprm, event);
	/* The cwd is built in the args buffer before argv overwrites it. */
	flags |= fl_read_cwd(task, event, event->args);
	flags |= fl_read_args(task, event);
	event->flags = flags;
	fl_submit(event);
	return 0;
}

/* ---- exit ----------------------------------------------------------------------------------- */

/*
 * The wait status the parent will see, as wait_task_zombie() computes it: the group exit code
 * once the group was killed or exit_group'ed (so every thread reports the same status), else the
 * leader's own exit code (the leader may have left first with pthread_exit).
 */
static __always_inline __u32 fl_wait_status(struct task_struct *task)
{
	struct signal_struct *signal = BPF_CORE_READ(task, signal);

	if (BPF_CORE_READ(signal, flags) & SIGNAL_GROUP_EXIT)
		return BPF_CORE_READ(signal, group_exit_code);
	return BPF_CORE_READ(task, group_leader, exit_code);
}

/*
 * sched_process_exit fires once per thread. The group is dead once signal->live reached 0; that
 * works on every kernel (only recent ones pass group_dead to the tracepoint). Threads dying
 * together can all read 0 here, so the first to insert the group's claim reports it and the others
 * stay silent; last_tid is then the claiming thread, one of the last ones.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(fl_exit, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	__u8 claimed = 1;
	struct fl_leader *leader;
	struct fl_exit_event *event;
	__u64 start_ktime;

	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	if (bpf_map_update_elem(&fl_exit_claims, &tgid, &claimed, BPF_NOEXIST) != 0)
		return 0;

	leader = bpf_map_lookup_elem(&fl_leaders, &tgid);
	start_ktime = leader ? leader->start_ktime : fl_procfs_start(task);
	bpf_map_delete_elem(&fl_leaders, &tgid);

	event = fl_reserve(sizeof(*event), FL_KIND_EXIT);
	if (!event)
		return 0;
	/* tid == pid even when the last thread is not the leader: the exit pairs with the exec. */
	fl_header(&event->h, FL_KIND_EXIT, sizeof(*event), bpf_ktime_get_boot_ns(), tgid, tgid);
	event->start_ktime = start_ktime;
	event->exit_code = fl_wait_status(task);
	event->last_tid = BPF_CORE_READ(task, pid);
	fl_submit(event);
	return 0;
}

/* ---- hooks ---------------------------------------------------------------------------------- */

/*
 * Reserves and fills a hook record except its arguments, with the calling thread's own
 * credentials and namespaces (threads can differ from their leader). NULL: dropped or lost.
 */
static __always_inline struct fl_hook_event *fl_hook_begin(__u32 hook_id, __u16 phase,
							   __u16 syscall_nr, __s64 ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct task_struct *task;
	struct fl_hook_event *event;

	if (tgid == fl_self_tgid)
		return NULL;
	event = fl_reserve(sizeof(*event), FL_KIND_HOOK);
	if (!event)
		return NULL;
	task = (struct task_struct *)bpf_get_current_task();
	fl_header(&event->h, FL_KIND_HOOK, sizeof(*event), bpf_ktime_get_boot_ns(), tgid,
		  (__u32)pid_tgid);
	event->start_ktime = fl_image_start(task, NULL);
	event->hook_id = hook_id;
	event->phase = phase;
	event->syscall_nr = syscall_nr;
	event->ret = ret;
	fl_read_creds(task, &event->creds, &event->caps);
	fl_read_ns(task, &event->ns);
	return event;
}

/* A 32-bit task's syscall numbers are another table; the hook policy names native ones. */
static __always_inline bool fl_in_compat_syscall(void)
{
#if defined(__TARGET_ARCH_x86)
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	if (bpf_core_field_exists(task->thread_info.status))
		return BPF_CORE_READ(task, thread_info.status) & TS_COMPAT;
#endif
	return false;
}

static __always_inline void fl_emit_syscall_hook(__u32 selected, __u16 phase, long nr, long ret,
						 struct pt_regs *regs)
{
	struct fl_hook_event *event;

	if (fl_in_compat_syscall())
		return;
	event = fl_hook_begin(selected - 1, phase, nr, ret);
	if (!event)
		return;
	event->args[0] = PT_REGS_PARM1_CORE_SYSCALL(regs);
	event->args[1] = PT_REGS_PARM2_CORE_SYSCALL(regs);
	event->args[2] = PT_REGS_PARM3_CORE_SYSCALL(regs);
	event->args[3] = PT_REGS_PARM4_CORE_SYSCALL(regs);
	event->args[4] = PT_REGS_PARM5_CORE_SYSCALL(regs);
	event->args[5] = PT_REGS_PARM6_CORE_SYSCALL(regs);
	fl_submit(event);
}

/* These two run for every syscall on the host: one array lookup decides. */

SEC("tp_btf/sys_enter")
int BPF_PROG(fl_sys_enter, struct pt_regs *regs, long id)
{
	__u32 nr = id;
	struct fl_hook_sel *sel = bpf_map_lookup_elem(&fl_hook_sel, &nr);

	if (!sel || !sel->hook_id_enter)
		return 0;
	fl_emit_syscall_hook(sel->hook_id_enter, FL_HOOK_ENTER, id, 0, regs);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(fl_sys_exit, struct pt_regs *regs, long ret)
{
#if defined(__TARGET_ARCH_x86)
	__u32 nr = regs->orig_ax;
#elif defined(__TARGET_ARCH_arm64)
	__u32 nr = regs->syscallno;
#else
#error "fl_sys_exit: syscall number register unknown for this architecture"
#endif
	struct fl_hook_sel *sel = bpf_map_lookup_elem(&fl_hook_sel, &nr);

	if (!sel || !sel->hook_id_exit)
		return 0;
	fl_emit_syscall_hook(sel->hook_id_exit, FL_HOOK_EXIT, nr, ret, regs);
	return 0;
}

/* One program for every kprobe hook: userspace attaches it once per hooked function with the
 * hook id (not + 1) as the attach cookie. */
SEC("kprobe")
int fl_kprobe(struct pt_regs *ctx)
{
	struct fl_hook_event *event;

	event = fl_hook_begin(bpf_get_attach_cookie(ctx), FL_HOOK_ENTER, FL_HOOK_NO_SYSCALL, 0);
	if (!event)
		return 0;
	event->args[0] = PT_REGS_PARM1(ctx);
	event->args[1] = PT_REGS_PARM2(ctx);
	event->args[2] = PT_REGS_PARM3(ctx);
	event->args[3] = PT_REGS_PARM4(ctx);
	event->args[4] = PT_REGS_PARM5(ctx);
	event->args[5] = PT_REGS_PARM6(ctx);
	fl_submit(event);
	return 0;
}
