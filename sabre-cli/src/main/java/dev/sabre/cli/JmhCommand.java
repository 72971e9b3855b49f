package dev.sabre.cli;

import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code sabre bench jmh [JMH options]}: the JMH micro-benchmarks of the hot paths, run by JMH's own runner. */
@Command(name = "jmh", mixinStandardHelpOptions = true,
        description = {"Run the JMH micro-benchmarks (page decode, zero-page scan, frame checksum). Arguments go to JMH,",
                "e.g. 'sabre bench jmh PageDecode -f 1 -wi 2 -i 3'."})
public final class JmhCommand implements Callable<Integer> {
    @Parameters(paramLabel = "ARG", arity = "0..*", description = "JMH arguments (see 'sabre bench jmh -- -h').")
    List<String> args = List.of();

    @Override
    public Integer call() throws Exception {
        org.openjdk.jmh.Main.main(args.toArray(String[]::new));
        return 0;
    }
}
