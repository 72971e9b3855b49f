/*
 * sabre-exec UID GID GROUPS DIR PROGRAM [ARG...]: the last step of starting a container image's process in
 * the guest, as runc does it: set the supplementary groups (GROUPS, comma-separated gids, may be empty), the
 * group and the user, enter the working directory as that user, and execute PROGRAM (looked up on the PATH
 * of the environment it was given) with its arguments. Built static, so it runs in any image.
 * busybox has no way to do this: its setpriv cannot change the user, and it has no chpst.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_GROUPS 65536

static void fail(const char *what, const char *value) {
    fprintf(stderr, "sabre-exec: %s '%s': %s\n", what, value, errno ? strerror(errno) : "invalid");
    exit(127);
}

static unsigned int id(const char *text, const char *what) {
    char *end;
    errno = 0;
    unsigned long value = strtoul(text, &end, 10);
    if (*text == '\0' || *end != '\0' || errno != 0 || value > 0xfffffffeUL) {
        errno = 0;
        fail(what, text);
    }
    return (unsigned int) value;
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: sabre-exec UID GID GROUPS DIR PROGRAM [ARG...]\n");
        return 127;
    }
    uid_t uid = id(argv[1], "uid");
    gid_t gid = id(argv[2], "gid");
    static gid_t groups[MAX_GROUPS];
    size_t count = 0;
    char *list = strdup(argv[3]);
    for (char *save = NULL, *g = strtok_r(list, ",", &save); g != NULL; g = strtok_r(NULL, ",", &save)) {
        if (count == MAX_GROUPS) {
            errno = E2BIG;
            fail("groups", argv[3]);
        }
        groups[count++] = id(g, "group");
    }
    if (setgroups(count, groups) != 0) {
        fail("setgroups", argv[3]);
    }
    if (setgid(gid) != 0) {
        fail("setgid", argv[2]);
    }
    if (setuid(uid) != 0) {
        fail("setuid", argv[1]);
    }
    if (chdir(argv[4]) != 0) {
        fail("working directory", argv[4]);
    }
    execvp(argv[5], argv + 5);
    fail("cannot execute", argv[5]);
    return 127;
}
