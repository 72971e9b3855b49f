package dev.sabre.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code sabre} command line. Every failure a user can cause (bad arguments, a corrupt snapshot, a
 * missing file) ends as one line on stderr and a non-zero exit; stack traces only with SABRE_DEBUG=1.
 */
@Command(name = "sabre", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Fast microVM restores from compressed guest-memory snapshots.",
        subcommands = {
                // One line per command; each command lives in its own class.
                PackCommand.class,
                UnpackCommand.class,
                InspectCommand.class,
                VerifyCommand.class,
                StoreCommand.class,
                BenchCommand.class,
                DemoCommand.class,
                dev.sabre.handler.cli.HandlerCommand.class,
                dev.sabre.cli.vm.VmCommand.class,
                dev.sabre.cli.vm.E2eCommand.class,
                dev.sabre.cli.image.ImageCommand.class,
        })
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit code (tests call this instead of main). */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler(Main::onError);
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        return cli.execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    private static int onError(Exception e, CommandLine cli, CommandLine.ParseResult parsed) {
        if (System.getenv("SABRE_DEBUG") != null) {
            e.printStackTrace();
        }
        cli.getErr().println("sabre " + cli.getCommandName() + ": " + Errors.describe(e));
        return Errors.exitCode(e);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"sabre " + (v != null ? v : "development build") + " on Java " + Runtime.version()};
        }
    }
}
