package dev.sabre.cli.vm;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code sabre vm build|run|snapshot|restore FUNCTION}: one function VM at a time. */
@Command(name = "vm", mixinStandardHelpOptions = true,
        description = "Build, run, snapshot and restore function microVMs (functions/ holds the functions).",
        subcommands = {VmBuildCommand.class, VmRunCommand.class, VmSnapshotCommand.class, VmRestoreCommand.class})
public final class VmCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
