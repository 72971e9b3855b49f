package dev.sabre.cli;

import dev.sabre.bench.codecs.CodecBenchCommand;
import dev.sabre.bench.format.FormatBenchCommand;
import dev.sabre.bench.handler.HandlerBenchCommand;
import dev.sabre.bench.restore.RestoreBenchCommand;
import dev.sabre.bench.store.StoreBenchCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code sabre bench ...}: the project's benchmarks, each printing ratios against baselines of the same run. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmarks over real guest memory (tables, CSV and PNG plots).",
        subcommands = {
                CodecBenchCommand.class,
                FormatBenchCommand.class,
                RestoreBenchCommand.class,
                HandlerBenchCommand.class,
                StoreBenchCommand.class,
                JmhCommand.class,
        })
public final class BenchCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
