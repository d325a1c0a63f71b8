/*
 * The leader leaves with pthread_exit while three threads keep running; the process ends when
 * the last of them returns. Each thread calls getppid just before it ends, so the test can tell
 * that the exit event came after them.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#define THREADS 3

static void *worker(void *arg)
{
	usleep(200000 + 100000 * (long)arg);
	syscall(SYS_getppid);
	return NULL;
}

int main(void)
{
	pthread_t thread;

	for (long i = 0; i < THREADS; i++)
		pthread_create(&thread, NULL, worker, (void *)i);
	pthread_exit(NULL);
}
