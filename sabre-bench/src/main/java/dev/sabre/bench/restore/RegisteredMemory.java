package dev.sabre.bench.restore;

import dev.sabre.linux.LinuxException;
import dev.sabre.linux.Memory;
import dev.sabre.linux.Userfaultfd;
import dev.sabre.restore.GuestLayout;
import dev.sabre.restore.RemovedPages;
import dev.sabre.restore.UffdInstaller;
import java.lang.foreign.MemorySegment;

/**
 * Fresh anonymous guest memory registered with a userfaultfd in MISSING mode, as a VMM's is on snapshot
 * load: the destination of every restore the benchmark times. Nothing touches it, so installs are the only
 * way pages arrive; closing unmaps it so the next measurement starts from empty memory again.
 */
final class RegisteredMemory implements AutoCloseable {
    final MemorySegment memory;
    final Userfaultfd uffd;
    final UffdInstaller installer;

    RegisteredMemory(long size) throws LinuxException {
        memory = Memory.mapAnonymous(size);
        uffd = Userfaultfd.create(true, false);
        uffd.api(Userfaultfd.UFFD_FEATURE_EVENT_REMOVE);
        uffd.register(memory.address(), size, Userfaultfd.UFFDIO_REGISTER_MODE_MISSING);
        installer = new UffdInstaller(uffd, GuestLayout.single(memory.address(), size), new RemovedPages(4096), 4096);
    }

    @Override
    public void close() throws LinuxException {
        uffd.close();
        Memory.munmap(memory);
    }
}
