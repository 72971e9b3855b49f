package dev.sabre.handler.cli;

import dev.sabre.linux.UnixSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sabre handler record|stop-record|stats --control PATH}: one control command to a running handler. */
abstract class ControlCommand implements Callable<Integer> {
    @Option(names = "--control", required = true, paramLabel = "PATH", description = "The handler's control socket.")
    Path control;

    abstract String command();

    @Override
    public Integer call() throws Exception {
        try (UnixSocket socket = UnixSocket.connect(control)) {
            socket.send((command() + "\n").getBytes(StandardCharsets.UTF_8));
            String reply = new String(socket.receive(1 << 20, 0).payload(), StandardCharsets.UTF_8).trim();
            System.out.println(reply);
            return reply.startsWith("OK") ? 0 : 1;
        }
    }

    @Command(name = "record", mixinStandardHelpOptions = true, description = "Start recording working sets (RECORD).")
    static final class Record extends ControlCommand {
        @Override
        String command() {
            return "RECORD";
        }
    }

    @Command(name = "stop-record", mixinStandardHelpOptions = true, description = "Stop recording and write the working sets (STOP_RECORD).")
    static final class StopRecord extends ControlCommand {
        @Override
        String command() {
            return "STOP_RECORD";
        }
    }

    @Command(name = "stats", mixinStandardHelpOptions = true, description = "Show the handler's sessions (STATS).")
    static final class Stats extends ControlCommand {
        @Override
        String command() {
            return "STATS";
        }
    }
}
