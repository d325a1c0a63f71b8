/*
 * Copies the program argv[1] names into an anonymous memfd and runs it with fexecve: the image comes
 * from an inode linked in no file system. Prints the memfd's inode number first, so the test can
 * compare it with the one the exec record carries.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	char *const run_argv[] = { "memfd-program", NULL };
	struct stat source_stat, memfd_stat;
	int source, memfd;

	if (argc != 2) {
		fprintf(stderr, "usage: %s PROGRAM\n", argv[0]);
		return 2;
	}
	source = open(argv[1], O_RDONLY);
	memfd = memfd_create("forkline-memfd", MFD_CLOEXEC);
	if (source < 0 || memfd < 0 || fstat(source, &source_stat) != 0) {
		perror("open / memfd_create");
		return 1;
	}
	if (sendfile(memfd, source, NULL, source_stat.st_size) != source_stat.st_size || fstat(memfd, &memfd_stat) != 0) {
		perror("sendfile");
		return 1;
	}
	printf("%llu %llu\n", (unsigned long long)memfd_stat.st_ino, (unsigned long long)memfd_stat.st_nlink);
	fflush(stdout);
	fexecve(memfd, run_argv, environ);
	perror("fexecve");
	return 127;
}
