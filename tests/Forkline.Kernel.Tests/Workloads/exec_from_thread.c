/*
 * A non-leader thread calls execve while the leader waits. The kernel kills the other threads and
 * gives the execing thread the leader's pid (de_thread), so the exec is reported with tid == pid.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *worker(void *arg)
{
	char *const argv[] = { "/bin/true", NULL };

	(void)arg;
	usleep(100000);
	execv("/bin/true", argv);
	perror("execv");
	_exit(127);
}

int main(void)
{
	pthread_t thread;

	pthread_create(&thread, NULL, worker, NULL);
	for (;;)
		pause();
}
