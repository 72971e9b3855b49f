package dev.sabre.format;

import java.lang.foreign.MemorySegment;

/** A {@link PageSink} into a memory segment that is zero to begin with (test code and benchmarks have their own). */
record MemorySink(MemorySegment memory, int pageSize) implements PageSink {
    static MemorySink of(MemorySegment memory, int pageSize) {
        return new MemorySink(memory, pageSize);
    }

    @Override
    public void write(long firstPage, MemorySegment data) {
        MemorySegment.copy(data, 0, memory, firstPage * pageSize, data.byteSize());
    }

    @Override
    public void zero(long firstPage, long count) {
        memory.asSlice(firstPage * pageSize, count * pageSize).fill((byte) 0);
    }

    @Override
    public MemorySegment direct(long firstPage, long count) {
        return memory.asSlice(firstPage * pageSize, count * pageSize);
    }
}
