/* rusage: runs a command N times and prints, per run, the CPU time and peak resident set size the
 * kernel accounted to that child (wait4), so one-shot `capreg collect` can be measured the same way on
 * the host and inside a vmharness guest (busybox has no /usr/bin/time -v).
 *   rusage N PROGRAM [ARGS...]     the program's stdout goes to /dev/null, its stderr is kept
 * Output, one line per run:  run I user_s U sys_s S cpu_s C maxrss_kb K wall_s W status X */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds(struct timeval t) { return t.tv_sec + t.tv_usec / 1e6; }

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: rusage N PROGRAM [ARGS...]\n"); return 2; }
    int runs = atoi(argv[1]);
    for (int i = 1; i <= runs; i++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); return 1; }
        if (pid == 0) {
            int null = open("/dev/null", O_WRONLY);
            if (null >= 0) dup2(null, 1);
            execv(argv[2], argv + 2);
            perror("execv");
            _exit(127);
        }
        int status = 0;
        struct rusage ru;
        if (wait4(pid, &status, 0, &ru) < 0) { perror("wait4"); return 1; }
        clock_gettime(CLOCK_MONOTONIC, &b);
        double user = seconds(ru.ru_utime), sys = seconds(ru.ru_stime);
        printf("run %d user_s %.3f sys_s %.3f cpu_s %.3f maxrss_kb %ld wall_s %.3f status %d\n", i, user, sys, user + sys,
               ru.ru_maxrss, (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        fflush(stdout);
    }
    return 0;
}
