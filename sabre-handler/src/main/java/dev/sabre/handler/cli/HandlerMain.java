package dev.sabre.handler.cli;

import dev.sabre.format.CorruptSnapshotException;
import picocli.CommandLine;

/**
 * The page-fault handler as a process of its own: {@code java -cp CLASSPATH dev.sabre.handler.cli.HandlerMain
 * OPTIONS} runs the same {@link HandlerCommand} as {@code sabre handler OPTIONS}, for launchers (the
 * orchestrator's supervised handlers) that have this module but not the whole command line on their class
 * path. A failure ends as one line on stderr and exit status 1 (3 when the snapshot is corrupt, as
 * {@code sabre} does); stack traces only with SABRE_DEBUG=1.
 */
public final class HandlerMain {
    private HandlerMain() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the handler command line and returns its exit status. */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new HandlerCommand());
        cli.setExecutionExceptionHandler((e, command, parsed) -> {
            if (System.getenv("SABRE_DEBUG") != null) {
                e.printStackTrace();
            }
            String message = e.getMessage() == null || e.getMessage().isBlank() ? e.getClass().getSimpleName() : e.getMessage();
            command.getErr().println("sabre " + command.getCommandName() + ": " + message.lines().findFirst().orElse(message));
            return e instanceof CorruptSnapshotException ? 3 : 1;
        });
        return cli.execute(args);
    }
}
