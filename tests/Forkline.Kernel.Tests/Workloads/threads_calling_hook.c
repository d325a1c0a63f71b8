/*
 * Four threads and the leader each call getppid (a hooked syscall) a few times. Thread 0 first
 * changes its own credentials with the raw setresuid syscall: Linux credentials are per thread,
 * and only glibc's wrapper broadcasts a change to every thread of the process.
 * Prints "setresuid_tid=<tid>" so the test knows which thread changed.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#define THREADS 4
#define CALLS 3
#define CHANGED_UID 1234

static pthread_barrier_t started;

static void call_hooked_syscall(void)
{
	for (int i = 0; i < CALLS; i++)
		syscall(SYS_getppid);
}

static void *worker(void *arg)
{
	long index = (long)arg;

	if (index == 0) {
		if (syscall(SYS_setresuid, CHANGED_UID, CHANGED_UID, CHANGED_UID) != 0) {
			perror("setresuid");
			return (void *)1;
		}
		printf("setresuid_tid=%ld\n", (long)syscall(SYS_gettid));
		fflush(stdout);
	}
	pthread_barrier_wait(&started);
	call_hooked_syscall();
	return NULL;
}

int main(void)
{
	pthread_t threads[THREADS];
	void *result;
	int failed = 0;

	pthread_barrier_init(&started, NULL, THREADS + 1);
	for (long i = 0; i < THREADS; i++)
		pthread_create(&threads[i], NULL, worker, (void *)i);
	pthread_barrier_wait(&started);
	call_hooked_syscall();
	for (int i = 0; i < THREADS; i++) {
		pthread_join(threads[i], &result);
		failed |= result != NULL;
	}
	return failed;
}
