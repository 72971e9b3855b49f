package dev.sabre.vmm;

import dev.sabre.vmm.grpc.GreeterClient;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * One function invocation: the reply's message and the time from sending the request (connection
 * included, as vHive measures) to receiving the reply.
 */
public record Invocation(String reply, long micros) {

    /**
     * Invokes {@code spec}'s function once through {@code client} and times it, for every driver alike. A
     * failure names the function, and carries the VM's logs ({@code diagnostics}) when the VMM is no longer
     * {@code alive}.
     */
    public static Invocation call(GreeterClient client, VmSpec spec, String input, BooleanSupplier alive,
                                  Supplier<String> diagnostics) {
        long start = System.nanoTime();
        try {
            String reply = client.sayHello(input, spec.readyTimeout());
            return new Invocation(reply, (System.nanoTime() - start) / 1000);
        } catch (VmmException e) {
            throw new VmmException("invoking " + spec.function() + " failed: " + e.getMessage()
                    + (alive.getAsBoolean() ? "" : "\n" + diagnostics.get()), e);
        }
    }
}
