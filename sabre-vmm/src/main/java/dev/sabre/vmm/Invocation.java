package dev.sabre.vmm;

import dev.sabre.vmm.grpc.GreeterClient;

/**
 * One function invocation: the reply's message and the time from sending the request (connection
 * included, as vHive measures) to receiving the reply.
 */
public record Invocation(String reply, long micros) {

    /**
     * Invokes {@code vm}'s function once through {@code client} and times it, for every driver alike. A
     * failure names the function, and carries the VM's logs when the VMM is no longer alive.
     */
    public static Invocation call(GreeterClient client, Vm vm, String input) {
        long start = System.nanoTime();
        try {
            String reply = client.sayHello(input, vm.spec().readyTimeout());
            return new Invocation(reply, (System.nanoTime() - start) / 1000);
        } catch (VmmException e) {
            throw new VmmException("invoking " + vm.function() + " failed: " + e.getMessage()
                    + (vm.isAlive() ? "" : "\n" + vm.diagnostics()), e);
        }
    }
}
