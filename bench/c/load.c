// SPDX-License-Identifier: GPL-2.0-only
/*
 * Load generator for the hook benchmark: THREADS threads call one syscall in a loop for SECONDS
 * seconds, optionally all pinned to one CPU (so a consumer on the other CPU does not compete).
 * Prints one line: syscalls_per_sec=<n> total=<n> threads=<n> seconds=<s>
 *
 * usage: load [-t threads] [-d seconds] [-n syscall_nr] [-c cpu]   (defaults: 4, 3, getppid, none)
 * build: see Makefile
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static atomic_bool stop;
static long syscall_nr = SYS_getppid;

struct worker {
	pthread_t thread;
	unsigned long long calls;
};

static void *call_until_stopped(void *arg)
{
	struct worker *worker = arg;
	unsigned long long calls = 0;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		syscall(syscall_nr);
		calls++;
	}
	worker->calls = calls;
	return NULL;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int threads = 4, cpu = -1, opt;
	double seconds = 3;
	unsigned long long total = 0;
	struct worker *workers;
	double started, elapsed;

	while ((opt = getopt(argc, argv, "t:d:n:c:")) != -1) {
		switch (opt) {
		case 't': threads = atoi(optarg); break;
		case 'd': seconds = atof(optarg); break;
		case 'n': syscall_nr = atol(optarg); break;
		case 'c': cpu = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: %s [-t threads] [-d seconds] [-n syscall_nr] [-c cpu]\n", argv[0]);
			return 2;
		}
	}
	if (threads < 1 || seconds <= 0) {
		fprintf(stderr, "load: threads (%d) and seconds (%g) must be positive\n", threads, seconds);
		return 2;
	}
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		/* Before creating the threads, which inherit the affinity. */
		if (sched_setaffinity(0, sizeof(set), &set) != 0) {
			fprintf(stderr, "load: pinning to cpu %d failed: %s\n", cpu, strerror(errno));
			return 1;
		}
	}

	workers = calloc(threads, sizeof(*workers));
	if (!workers) {
		fprintf(stderr, "load: out of memory for %d workers\n", threads);
		return 1;
	}
	started = now_seconds();
	for (int i = 0; i < threads; i++) {
		int err = pthread_create(&workers[i].thread, NULL, call_until_stopped, &workers[i]);

		if (err) {
			fprintf(stderr, "load: pthread_create failed: %s\n", strerror(err));
			return 1;
		}
	}
	usleep((useconds_t)(seconds * 1e6));
	atomic_store(&stop, true);
	for (int i = 0; i < threads; i++) {
		pthread_join(workers[i].thread, NULL);
		total += workers[i].calls;
	}
	elapsed = now_seconds() - started;

	printf("syscalls_per_sec=%.0f total=%llu threads=%d seconds=%.3f\n", total / elapsed, total,
	       threads, elapsed);
	free(workers);
	return 0;
}
