package dev.sabre.bench.jmh;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Per-page work the packer and the reader do on every page: the zero-page test (vectorized mismatch
 * against a zero page, versus a plain loop as the baseline) and the CRC-32C of a frame.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class ScanBenchmark {
    @Param({"4096", "65536"})
    public int bytes;

    private MemorySegment zeros;
    private MemorySegment data;

    @Setup
    public void setUp() {
        zeros = Arena.ofAuto().allocate(bytes);
        data = Arena.ofAuto().allocate(bytes);
        data.set(ValueLayout.JAVA_BYTE, bytes - 1, (byte) 1); // non-zero only at the end: the worst case
    }

    @Benchmark
    public long zeroTestMismatch() {
        return data.mismatch(zeros);
    }

    @Benchmark
    public boolean zeroTestLoop() {
        for (long at = 0; at < bytes; at += 8) {
            if (data.get(ValueLayout.JAVA_LONG_UNALIGNED, at) != 0) {
                return false;
            }
        }
        return true;
    }

    @Benchmark
    public long crc32c() {
        CRC32C crc = new CRC32C();
        crc.update(data.asByteBuffer());
        return crc.getValue();
    }
}
