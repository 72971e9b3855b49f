package dev.sabre.cli.vm;

import dev.sabre.vmm.Invocation;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.concurrent.Callable;

/** {@code sabre vm run FUNCTION}: boots the function, invokes it once, prints the reply and stops the VM. */
@Command(name = "run", mixinStandardHelpOptions = true, description = "Boot a function VM, invoke it once and print the reply.")
public final class VmRunCommand implements Callable<Integer> {
    @Parameters(paramLabel = "FUNCTION", description = "A directory of functions/, e.g. fibonacci.")
    String function;

    @Option(names = "--input", paramLabel = "TEXT", description = "The request's name (default: empty, the function's default size).")
    String input = "";

    @Mixin
    VmOptions vm;

    @Override
    public Integer call() {
        Invocation reply = vm.orchestrator().run(function, input);
        System.out.println(reply.reply());
        System.out.printf("invocation (us): %d%n", reply.micros());
        return 0;
    }
}
