package dev.sabre.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

/** {@code sabre bench jmh [JMH options]}: the JMH micro-benchmarks of the hot paths, run by JMH's own runner. */
@Command(name = "jmh",
        description = {"Run the JMH micro-benchmarks (PageDecodeBenchmark, ScanBenchmark). Every argument goes to JMH,",
                "e.g. 'sabre bench jmh PageDecode -f 1 -wi 2 -i 3'; 'sabre bench jmh -h' lists JMH's options."})
public final class JmhCommand implements Callable<Integer> {
    @Unmatched
    List<String> args = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        org.openjdk.jmh.Main.main(args.toArray(String[]::new));
        return 0;
    }
}
