// SPDX-License-Identifier: GPL-2.0-only
/*
 * Minimal C libbpf consumer of the Forkline ring buffer: the baseline the C# collector is measured
 * against. Loads the BPF object, hooks one syscall at entry, and either
 *
 *   burst  first drains a ring's worth of records (faulting the mapping in), then lets records
 *          pile up for SECONDS while nobody reads, stops the hook, drains them with a no-op
 *          callback (ring_buffer__consume) and prints the drain rate, by wall and CPU time.
 *          Runs ROUNDS rounds.
 *   live   drains every POLL_MS (and on the BPF side's byte-threshold wakeups) for SECONDS; prints
 *          records/s, its own CPU time per record and the lost-record counters.
 *   follow hooks nothing: only the exec / exit / fork programs report. Drains every POLL_MS (and on
 *          wakeups) with the no-op callback until SIGINT or SIGTERM, then prints the records it drained
 *          and the lost-record counter. The baseline observer of the cost figures (issue 10).
 *
 * Start the load generator (bench/c/load) first, for longer than this run: about one second of
 * loading plus (burst) the warm-up (a ring's worth of records) and ROUNDS * SECONDS, or (live)
 * SECONDS. Other processes call getppid too, so the consumer cannot tell the load's records from
 * theirs; it only refuses to measure when no hooked call arrives at all. It prints "ready" once attached.
 * follow needs no load.
 *
 * usage: consumer [-o object] burst|live|follow [-d seconds] [-n syscall_nr] [-r ring_mib]
 *                 [-w wakeup_bytes] [-p poll_ms] [-k rounds]
 * defaults: artifacts/bpf/forkline.bpf.o, 0.3 s, getppid, 64 MiB, 256 KiB (live; burst: never
 * wake), 2 ms, 2 rounds
 * build: see Makefile
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "../../bpf/forkline.h"

#define LOAD_WAIT_SECONDS 30

struct options {
	const char *object;
	const char *mode;
	double seconds;
	__u32 syscall_nr;
	__u32 ring_mib;
	__u32 wakeup_bytes;
	int poll_ms;
	int rounds;
};

static volatile sig_atomic_t stop_requested;

static void request_stop(int signal)
{
	(void)signal;
	stop_requested = 1;
}

static int ignore_record(void *ctx, void *data, size_t size)
{
	(void)ctx, (void)data, (void)size;
	return 0;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
	struct rusage usage;

	getrusage(RUSAGE_SELF, &usage);
	return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec +
	       usage.ru_stime.tv_usec / 1e6;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "consumer: %s failed: %s\n", what, strerror(err < 0 ? -err : err));
	return 1;
}

/* Sets a `const volatile __u32` of the object's .rodata before load (no skeleton needed). */
static int set_rodata_u32(struct bpf_object *obj, const char *name, __u32 value)
{
	struct bpf_map *rodata = bpf_object__find_map_by_name(obj, ".rodata");
	const struct btf *btf = bpf_object__btf(obj);
	int section_id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	const struct btf_type *section;
	const struct btf_var_secinfo *var;
	const void *initial;
	size_t size;

	if (!rodata || section_id < 0)
		return -ENOENT;
	initial = bpf_map__initial_value(rodata, &size);
	section = btf__type_by_id(btf, section_id);
	var = btf_var_secinfos(section);
	for (int i = 0; i < btf_vlen(section); i++, var++) {
		const struct btf_type *type = btf__type_by_id(btf, var->type);
		char *data;
		int err;

		if (strcmp(btf__name_by_offset(btf, type->name_off), name) != 0)
			continue;
		if (var->offset + sizeof(value) > size)
			return -EINVAL;
		data = malloc(size);
		if (!data)
			return -ENOMEM;
		memcpy(data, initial, size);
		memcpy(data + var->offset, &value, sizeof(value));
		err = bpf_map__set_initial_value(rodata, data, size);
		free(data);
		return err;
	}
	return -ENOENT;
}

static int select_hook(int selection_fd, __u32 syscall_nr, bool enabled)
{
	struct fl_hook_sel selection = { .hook_id_enter = enabled ? 1 : 0 };

	return bpf_map_update_elem(selection_fd, &syscall_nr, &selection, BPF_ANY);
}

static unsigned long long lost_records(int lost_fd)
{
	int cpus = libbpf_num_possible_cpus();
	unsigned long long total = 0;
	__u64 *per_cpu = calloc(cpus, sizeof(*per_cpu));

	for (__u32 kind = 0; per_cpu && kind < FL_KIND_MAX; kind++) {
		if (bpf_map_lookup_elem(lost_fd, &kind, per_cpu) != 0)
			continue;
		for (int cpu = 0; cpu < cpus; cpu++)
			total += per_cpu[cpu];
	}
	free(per_cpu);
	return total;
}

/*
 * Drains what is in the ring. Below fl_wakeup_bytes the BPF side submits without a wakeup, so
 * epoll only reports the ring once that much is waiting: poll returns early then, and the
 * timeout doubles as the drain timer.
 */
static int drain(struct ring_buffer *ring, int poll_ms)
{
	int drained = ring_buffer__poll(ring, poll_ms);

	if (drained == 0 || drained == -EINTR)
		drained = ring_buffer__consume(ring);
	return drained;
}

/* Blocks until a hooked record arrives: without load every figure would be zero. */
static int wait_for_load(struct ring_buffer *ring, __u32 syscall_nr)
{
	double started = now_seconds();

	while (now_seconds() - started < LOAD_WAIT_SECONDS) {
		int drained = drain(ring, 1);

		if (drained > 0)
			return 0;
		if (drained < 0)
			return fail("draining the ring", drained);
	}
	fprintf(stderr, "consumer: no call of syscall %u within %d s: start bench/c/load -n %u first\n",
		syscall_nr, LOAD_WAIT_SECONDS, syscall_nr);
	return 1;
}

/*
 * Drains a ring's worth of hook records before the first round, so each page of the mapping has been
 * faulted in (the C# collector touches its ring at start): otherwise every round drains a fresh part of
 * the ring and pays a page fault per 4 KiB, more than reading its records costs.
 */
static int warm_ring(const struct options *opt, struct ring_buffer *ring, int selection_fd)
{
	const unsigned long long record_bytes = (sizeof(struct fl_hook_event) + 8 + 7) & ~7ULL;
	const unsigned long long ring_bytes = (unsigned long long)opt->ring_mib << 20;
	unsigned long long drained_bytes = 0;

	if (select_hook(selection_fd, opt->syscall_nr, true) != 0)
		return fail("enabling the hook", errno);
	if (wait_for_load(ring, opt->syscall_nr) != 0)
		return 1;
	while (drained_bytes < ring_bytes + ring_bytes / 4) {
		int drained = drain(ring, opt->poll_ms);

		if (drained < 0)
			return fail("draining the ring", drained);
		drained_bytes += drained * record_bytes;
	}
	return 0;
}

static int run_burst(const struct options *opt, struct ring_buffer *ring, int selection_fd, int lost_fd)
{
	if (warm_ring(opt, ring, selection_fd) != 0)
		return 1;
	for (int round = 1; round <= opt->rounds; round++) {
		double started, cpu_started, drain_seconds, drain_cpu_seconds;
		int records;

		if (select_hook(selection_fd, opt->syscall_nr, true) != 0)
			return fail("enabling the hook", errno);
		if (wait_for_load(ring, opt->syscall_nr) != 0)
			return 1;
		usleep((useconds_t)(opt->seconds * 1e6));
		if (select_hook(selection_fd, opt->syscall_nr, false) != 0)
			return fail("disabling the hook", errno);
		usleep(10000); /* let records reserved before the switch be committed */

		started = now_seconds();
		cpu_started = cpu_seconds();
		records = ring_buffer__consume(ring);
		drain_seconds = now_seconds() - started;
		drain_cpu_seconds = cpu_seconds() - cpu_started;
		if (records < 0)
			return fail("ring_buffer__consume", records);
		/* CPU time too: on a busy machine the wall time of a short drain is mostly preemption. */
		printf("burst round=%d records=%d drain_seconds=%.6f events_per_sec=%.0f drain_cpu_seconds=%.6f "
		       "events_per_cpu_sec=%.0f lost=%llu\n", round, records, drain_seconds, records / drain_seconds,
		       drain_cpu_seconds, drain_cpu_seconds > 0 ? records / drain_cpu_seconds : 0.0,
		       lost_records(lost_fd));
	}
	return 0;
}

static int run_live(const struct options *opt, struct ring_buffer *ring, int selection_fd, int lost_fd)
{
	unsigned long long records = 0, lost_before;
	double started, cpu_started, elapsed, cpu;

	if (select_hook(selection_fd, opt->syscall_nr, true) != 0)
		return fail("enabling the hook", errno);
	if (wait_for_load(ring, opt->syscall_nr) != 0)
		return 1;
	lost_before = lost_records(lost_fd);
	started = now_seconds();
	cpu_started = cpu_seconds();
	while (now_seconds() - started < opt->seconds) {
		int drained = drain(ring, opt->poll_ms);

		if (drained < 0)
			return fail("draining the ring", drained);
		records += drained;
	}
	elapsed = now_seconds() - started;
	cpu = cpu_seconds() - cpu_started;
	printf("live records=%llu seconds=%.3f records_per_sec=%.0f cpu_ns_per_record=%.1f lost=%llu\n",
	       records, elapsed, records / elapsed, records ? cpu * 1e9 / records : 0.0,
	       lost_records(lost_fd) - lost_before);
	return 0;
}

/* Drains until SIGINT / SIGTERM; installed without SA_RESTART, so a signal ends the poll at once. */
static int run_follow(const struct options *opt, struct ring_buffer *ring, int lost_fd)
{
	struct sigaction action = { .sa_handler = request_stop };
	unsigned long long records = 0, lost_before = lost_records(lost_fd);
	double started = now_seconds();
	int drained_last;

	sigemptyset(&action.sa_mask);
	if (sigaction(SIGINT, &action, NULL) != 0 || sigaction(SIGTERM, &action, NULL) != 0)
		return fail("installing the signal handlers", errno);
	while (!stop_requested) {
		int drained = drain(ring, opt->poll_ms);

		if (drained < 0 && drained != -EINTR)
			return fail("draining the ring", drained);
		if (drained > 0)
			records += drained;
	}
	drained_last = ring_buffer__consume(ring);
	if (drained_last > 0)
		records += drained_last;
	printf("follow records=%llu seconds=%.3f lost=%llu\n", records, now_seconds() - started,
	       lost_records(lost_fd) - lost_before);
	return 0;
}

static int parse_options(int argc, char **argv, struct options *opt)
{
	bool wakeup_given = false;
	int c;

	while ((c = getopt(argc, argv, "o:d:n:r:w:p:k:")) != -1) {
		switch (c) {
		case 'o': opt->object = optarg; break;
		case 'd': opt->seconds = atof(optarg); break;
		case 'n': opt->syscall_nr = strtoul(optarg, NULL, 0); break;
		case 'r': opt->ring_mib = strtoul(optarg, NULL, 0); break;
		case 'w': opt->wakeup_bytes = strtoul(optarg, NULL, 0); wakeup_given = true; break;
		case 'p': opt->poll_ms = atoi(optarg); break;
		case 'k': opt->rounds = atoi(optarg); break;
		default: return -1;
		}
	}
	if (optind != argc - 1)
		return -1;
	opt->mode = argv[optind];
	if (strcmp(opt->mode, "burst") == 0) {
		/* Nobody reads during a burst: a wakeup per record would only slow the producer. */
		if (!wakeup_given)
			opt->wakeup_bytes = UINT32_MAX;
		return 0;
	}
	return strcmp(opt->mode, "live") == 0 || strcmp(opt->mode, "follow") == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct options opt = {
		.object = "artifacts/bpf/forkline.bpf.o",
		.seconds = 0.3,
		.syscall_nr = SYS_getppid,
		.ring_mib = 64,
		.wakeup_bytes = 256 * 1024,
		.poll_ms = 2,
		.rounds = 2,
	};
	struct bpf_link *links[8];
	int link_count = 0;
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct ring_buffer *ring;
	int err;

	if (parse_options(argc, argv, &opt) != 0) {
		fprintf(stderr, "usage: %s [-o object] burst|live|follow [-d seconds] [-n syscall_nr] [-r ring_mib] "
				"[-w wakeup_bytes] [-p poll_ms] [-k rounds]\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	obj = bpf_object__open_file(opt.object, NULL);
	if (!obj) {
		fprintf(stderr, "consumer: opening %s failed: %s (build it with: dotnet pwsh ./build.ps1 bpf)\n",
			opt.object, strerror(errno));
		return 1;
	}
	/* kprobe hooks are not part of this benchmark (and this kernel has no kprobes). */
	bpf_program__set_autoload(bpf_object__find_program_by_name(obj, "fl_kprobe"), false);
	err = bpf_map__set_max_entries(bpf_object__find_map_by_name(obj, "fl_events"), opt.ring_mib << 20);
	if (err)
		return fail("sizing fl_events", err);
	err = set_rodata_u32(obj, "fl_wakeup_bytes", opt.wakeup_bytes);
	if (err)
		return fail("setting fl_wakeup_bytes", err);
	err = bpf_object__load(obj);
	if (err)
		return fail("bpf_object__load", err);
	bpf_object__for_each_program(prog, obj) {
		if (!bpf_program__autoload(prog))
			continue;
		if (link_count == sizeof(links) / sizeof(links[0]))
			return fail("attaching: more programs than expected", E2BIG);
		links[link_count] = bpf_program__attach(prog);
		if (!links[link_count])
			return fail(bpf_program__name(prog), errno);
		link_count++;
	}
	ring = ring_buffer__new(bpf_object__find_map_fd_by_name(obj, "fl_events"), ignore_record, NULL, NULL);
	if (!ring)
		return fail("ring_buffer__new", errno);
	printf("ready\n");

	if (strcmp(opt.mode, "burst") == 0)
		err = run_burst(&opt, ring, bpf_object__find_map_fd_by_name(obj, "fl_hook_sel"),
				bpf_object__find_map_fd_by_name(obj, "fl_lost"));
	else if (strcmp(opt.mode, "follow") == 0)
		err = run_follow(&opt, ring, bpf_object__find_map_fd_by_name(obj, "fl_lost"));
	else
		err = run_live(&opt, ring, bpf_object__find_map_fd_by_name(obj, "fl_hook_sel"),
			       bpf_object__find_map_fd_by_name(obj, "fl_lost"));
	ring_buffer__free(ring);
	while (link_count > 0)
		bpf_link__destroy(links[--link_count]);
	bpf_object__close(obj);
	return err;
}
