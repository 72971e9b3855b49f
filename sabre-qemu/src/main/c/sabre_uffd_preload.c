/*
 * Sabre QEMU preload bridge.
 *
 * QEMU cannot hand its guest RAM to an external userfaultfd handler the way Firecracker does. Loaded
 * into QEMU with LD_PRELOAD, this library intercepts QEMU's mmap64() of the guest RAM file (MAP_FIXED,
 * an fd whose /proc/self/fd link is the file named by SABRE_UFFD_MEM_PATH), maps anonymous private
 * memory there instead, registers it with a userfaultfd in MISSING mode, and sends the Firecracker
 * handshake to the handler listening on SABRE_UFFD_SOCKET: one sendmsg whose data is
 *   [{"base_host_virt_addr":A,"size":S,"offset":O,"page_size":4096,"page_size_kib":4096}]
 * and whose SCM_RIGHTS control message carries the userfaultfd. With SABRE_UFFD_HUGE_PAGES=1 the
 * replacement is 2 MiB hugetlb memory (MAP_HUGETLB, reserved from the host's pool at mmap time, as
 * Firecracker's huge_pages "2M" maps it) and both page sizes in the handshake are 2097152; a RAM mapping
 * not aligned to 2 MiB is refused.
 *
 * It acts once, in the process that loaded it: forked children (QEMU's exec: migration runs sh and
 * cat) do nothing, LD_PRELOAD is removed from the environment so exec'd programs never load it, and
 * the userfaultfd and the socket are close-on-exec so the handler sees EOF when QEMU exits.
 * On failure it prints why and makes the mmap fail, so QEMU exits with an error instead of running a
 * guest without memory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/userfaultfd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#define PAGE_SIZE_BYTES 4096
#define HUGE_PAGE_BYTES (2u << 20)

static pid_t owner_pid;
static char mem_path[PATH_MAX];
static char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static int taken_over;
static int huge_pages;

__attribute__((constructor)) static void sabre_preload_init(void)
{
    owner_pid = getpid();
    const char *mem = getenv("SABRE_UFFD_MEM_PATH");
    const char *sock = getenv("SABRE_UFFD_SOCKET");
    if (mem && strlen(mem) < sizeof(mem_path))
        strcpy(mem_path, mem);
    if (sock && strlen(sock) < sizeof(socket_path))
        strcpy(socket_path, sock);
    if (!mem || !sock)
        fprintf(stderr, "sabre-preload: SABRE_UFFD_MEM_PATH and SABRE_UFFD_SOCKET must both be set\n");
    else if (strlen(sock) >= sizeof(socket_path))
        fprintf(stderr, "sabre-preload: socket path too long: %s\n", sock);
    const char *huge = getenv("SABRE_UFFD_HUGE_PAGES");
    huge_pages = huge && strcmp(huge, "1") == 0;
    /* Children exec'd by QEMU (sh, cat) must not load this library. */
    unsetenv("LD_PRELOAD");
}

static void *raw_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

static int is_ram_file(int fd)
{
    char link[64], target[PATH_MAX];
    if (mem_path[0] == 0 || socket_path[0] == 0)
        return 0;
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n <= 0)
        return 0;
    target[n] = 0;
    return strcmp(target, mem_path) == 0;
}

static int open_userfaultfd(void)
{
    int uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (uffd >= 0 || errno != EPERM)
        return uffd;
    /* Unprivileged processes may still use /dev/userfaultfd (Linux 6.1+). */
    int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
    if (dev < 0)
        return -1;
    uffd = ioctl(dev, _IO(0xAA, 0x00) /* USERFAULTFD_IOC_NEW */, O_CLOEXEC | O_NONBLOCK);
    close(dev);
    return uffd;
}

static int send_handshake(int uffd, uint64_t base, uint64_t size, uint64_t offset)
{
    int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return -1;
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    strcpy(addr.sun_path, socket_path);
    if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        int e = errno;
        close(sock);
        errno = e;
        return -1;
    }
    int page_size = huge_pages ? (int)HUGE_PAGE_BYTES : PAGE_SIZE_BYTES;
    char body[256];
    int len = snprintf(body, sizeof(body),
                       "[{\"base_host_virt_addr\":%llu,\"size\":%llu,\"offset\":%llu,"
                       "\"page_size\":%d,\"page_size_kib\":%d}]",
                       (unsigned long long)base, (unsigned long long)size, (unsigned long long)offset,
                       page_size, page_size);
    struct iovec iov = {.iov_base = body, .iov_len = (size_t)len};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof(control));
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf)};
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &uffd, sizeof(int));
    ssize_t sent;
    do {
        sent = sendmsg(sock, &msg, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    if (sent != len) {
        int e = sent < 0 ? errno : EIO;
        close(sock);
        errno = e;
        return -1;
    }
    /* The socket stays open (close-on-exec) for QEMU's lifetime: the handler sees EOF when QEMU exits. */
    return 0;
}

static void *take_over(void *addr, size_t len, int prot, off_t off)
{
    const char *step = "mmap";
    int uffd = -1;
    void *mem;
    if (huge_pages) {
        step = "mapping on 2 MiB huge pages (RAM address, size and file offset must be 2 MiB-aligned)";
        errno = EINVAL;
        if ((uintptr_t)addr % HUGE_PAGE_BYTES || len % HUGE_PAGE_BYTES || (uint64_t)off % HUGE_PAGE_BYTES)
            goto fail;
        step = "mmap(MAP_HUGETLB) (not enough free 2 MiB pages in /proc/sys/vm/nr_hugepages?)";
        mem = raw_mmap(addr, len, prot, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    } else {
        mem = raw_mmap(addr, len, prot, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    }
    if (mem == MAP_FAILED)
        goto fail;
    step = "userfaultfd";
    uffd = open_userfaultfd();
    if (uffd < 0)
        goto fail;
    step = "UFFDIO_API";
    struct uffdio_api api = {.api = UFFD_API, .features = UFFD_FEATURE_EVENT_REMOVE};
    if (ioctl(uffd, UFFDIO_API, &api) < 0)
        goto fail;
    step = "UFFDIO_REGISTER";
    struct uffdio_register reg = {
        .range = {.start = (uint64_t)(uintptr_t)mem, .len = len}, .mode = UFFDIO_REGISTER_MODE_MISSING};
    if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0)
        goto fail;
    step = "connecting to the page-fault handler";
    if (send_handshake(uffd, (uint64_t)(uintptr_t)mem, len, (uint64_t)off) < 0)
        goto fail;
    taken_over = 1;
    /* The handler holds its own copy of the userfaultfd; ours stays open so registration lives on. */
    return mem;

fail: {
        int e = errno;
        fprintf(stderr, "sabre-preload: cannot hand guest RAM %s to the handler at %s: %s failed: %s\n",
                mem_path, socket_path, step, strerror(e));
        if (uffd >= 0)
            close(uffd);
        errno = e ? e : EIO;
        return MAP_FAILED;
    }
}

static void *intercept(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    if (!taken_over && fd >= 0 && (flags & MAP_FIXED) && getpid() == owner_pid && is_ram_file(fd))
        return take_over(addr, len, prot, off);
    return raw_mmap(addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return intercept(addr, len, prot, flags, fd, off);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return intercept(addr, len, prot, flags, fd, off);
}
