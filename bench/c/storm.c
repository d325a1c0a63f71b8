// SPDX-License-Identifier: GPL-2.0-only
/*
 * Exec storm for the cost benchmark (issue 10): PROCESSES short processes (fork + execve of PROGRAM,
 * then waitpid), WORKERS at a time: each worker thread forks, execs and reaps one process after the
 * other until all are done. Cheap and exact, so that an observer's share of the storm's time shows.
 * With -r, a trickle instead: process i starts no earlier than i / RATE seconds after the first.
 * With -H, hold instead (the soak figures): PROCESSES processes of PROGRAM (default /bin/sleep, given the
 * argument "infinity") are started one after the other and left running; once all run it prints
 *   held processes=<n> seconds=<wall s> pid=<this pid>
 * then waits until its stdin ends, kills them (SIGKILL), reaps them and prints "released processes=<n>".
 * Prints one line when done:
 *   storm processes=<n> workers=<n> seconds=<wall s> pid=<this pid> start_unix_ns=<n> end_unix_ns=<n>
 * The storm's processes are this process's children: an observer's events of them name pid= as parent.
 * Exits 1 if a process could not be started or did not exit 0.
 *
 * usage: storm [-n processes] [-j workers] [-p program] [-r per_second] [-H]   (defaults: 3000, 2, /bin/true, no pacing)
 * build: see Makefile
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *program = "/bin/true";
static long processes = 3000;
static atomic_long next_index;
static atomic_long failures;
static double rate;
static struct timespec first_start;

/* Paced: waits until process INDEX is due (first_start + index / rate, CLOCK_MONOTONIC). */
static void wait_until_due(long index)
{
	struct timespec due = first_start;
	double offset = index / rate;

	if (rate <= 0)
		return;
	due.tv_sec += (time_t)offset;
	due.tv_nsec += (long)((offset - (time_t)offset) * 1e9);
	if (due.tv_nsec >= 1000000000L) {
		due.tv_sec++;
		due.tv_nsec -= 1000000000L;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) == EINTR)
		;
}

static void *run_worker(void *arg)
{
	char *argv[] = { (char *)program, NULL };

	(void)arg;
	for (long index; (index = atomic_fetch_add(&next_index, 1)) < processes;) {
		int status;
		pid_t pid;

		wait_until_due(index);
		pid = fork();

		if (pid == 0) {
			execve(program, argv, environ);
			_exit(127);
		}
		if (pid < 0) {
			atomic_fetch_add(&failures, 1);
			continue;
		}
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			atomic_fetch_add(&failures, 1);
	}
	return NULL;
}

static double seconds_of(clockid_t clock, long long *unix_ns);

/* Kills and reaps the first COUNT of PIDS. */
static void release(pid_t *pids, long count)
{
	for (long i = 0; i < count; i++)
		kill(pids[i], SIGKILL);
	for (long i = 0; i < count; i++)
		while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
			;
}

static int hold(void)
{
	char *argv[] = { (char *)program, "infinity", NULL };
	pid_t *pids = calloc(processes, sizeof(*pids));
	double started = seconds_of(CLOCK_MONOTONIC, NULL);
	char buffer[256];

	if (!pids) {
		fprintf(stderr, "storm: out of memory for %ld pids\n", processes);
		return 1;
	}
	for (long i = 0; i < processes; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			execve(program, argv, environ);
			_exit(127);
		}
		if (pids[i] < 0) {
			fprintf(stderr, "storm: fork of held process %ld failed: %s\n", i + 1, strerror(errno));
			release(pids, i);
			return 1;
		}
	}
	printf("held processes=%ld seconds=%.6f pid=%d\n", processes, seconds_of(CLOCK_MONOTONIC, NULL) - started, (int)getpid());
	fflush(stdout);
	errno = 0;
	while (read(STDIN_FILENO, buffer, sizeof(buffer)) > 0 || errno == EINTR)
		errno = 0;
	release(pids, processes);
	free(pids);
	printf("released processes=%ld\n", processes);
	return 0;
}

static double seconds_of(clockid_t clock, long long *unix_ns)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	if (unix_ns)
		*unix_ns = ts.tv_sec * 1000000000LL + ts.tv_nsec;
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int workers = 2, opt, holding = 0;
	pthread_t *threads;
	long long start_ns, end_ns;
	double started, elapsed;

	while ((opt = getopt(argc, argv, "n:j:p:r:H")) != -1) {
		switch (opt) {
		case 'n': processes = atol(optarg); break;
		case 'j': workers = atoi(optarg); break;
		case 'p': program = optarg; break;
		case 'r': rate = atof(optarg); break;
		case 'H': holding = 1; break;
		default:
			fprintf(stderr, "usage: %s [-n processes] [-j workers] [-p program] [-r per_second] [-H]\n", argv[0]);
			return 2;
		}
	}
	if (processes < 1 || workers < 1) {
		fprintf(stderr, "storm: processes (%ld) and workers (%d) must be positive\n", processes, workers);
		return 2;
	}
	if (holding) {
		if (strcmp(program, "/bin/true") == 0)
			program = "/bin/sleep";
		return hold();
	}
	threads = calloc(workers, sizeof(*threads));
	if (!threads) {
		fprintf(stderr, "storm: out of memory for %d workers\n", workers);
		return 1;
	}
	seconds_of(CLOCK_REALTIME, &start_ns);
	started = seconds_of(CLOCK_MONOTONIC, NULL);
	clock_gettime(CLOCK_MONOTONIC, &first_start);
	for (int i = 0; i < workers; i++) {
		int err = pthread_create(&threads[i], NULL, run_worker, NULL);

		if (err) {
			fprintf(stderr, "storm: pthread_create failed: %s\n", strerror(err));
			return 1;
		}
	}
	for (int i = 0; i < workers; i++)
		pthread_join(threads[i], NULL);
	elapsed = seconds_of(CLOCK_MONOTONIC, NULL) - started;
	seconds_of(CLOCK_REALTIME, &end_ns);
	free(threads);
	if (atomic_load(&failures) > 0) {
		fprintf(stderr, "storm: %ld of %ld processes of %s failed to start or exited non-zero\n",
			atomic_load(&failures), processes, program);
		return 1;
	}
	printf("storm processes=%ld workers=%d seconds=%.6f pid=%d start_unix_ns=%lld end_unix_ns=%lld\n", processes,
	       workers, elapsed, (int)getpid(), start_ns, end_ns);
	return 0;
}
