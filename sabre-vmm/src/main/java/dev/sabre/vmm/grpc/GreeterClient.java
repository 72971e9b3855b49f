package dev.sabre.vmm.grpc;

import dev.sabre.vmm.ChildProcess;
import dev.sabre.vmm.VmmException;
import io.grpc.CallOptions;
import io.grpc.ConnectivityState;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A gRPC client for the functions' {@code fibonacci.Greeter/SayHello}, the call vHive uses to invoke
 * its function images. One client holds one channel (one HTTP/2 connection, opened on first use).
 */
public final class GreeterClient implements AutoCloseable {
    /** The method every function image serves. */
    public static final MethodDescriptor<String, String> SAY_HELLO = MethodDescriptor.<String, String>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName("fibonacci.Greeter/SayHello")
            .setRequestMarshaller(StringFieldMarshaller.INSTANCE)
            .setResponseMarshaller(StringFieldMarshaller.INSTANCE)
            .build();

    private static volatile boolean warm;

    private final String target;
    private final ManagedChannel channel;

    public GreeterClient(String host, int port) {
        this.target = host + ":" + port;
        this.channel = Grpc.newChannelBuilderForAddress(host, port, InsecureChannelCredentials.create())
                .maxInboundMessageSize(16 << 20)
                .build();
    }

    /** Calls SayHello with {@code name}; returns the reply's message. */
    public String sayHello(String name, Duration deadline) {
        try {
            return ClientCalls.blockingUnaryCall(channel, SAY_HELLO,
                    CallOptions.DEFAULT.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS), name);
        } catch (StatusRuntimeException e) {
            throw new VmmException("fibonacci.Greeter/SayHello on " + target + " failed: " + e.getStatus(), e);
        }
    }

    /** Connects (HTTP/2 handshake included) and returns true once the channel is ready, false on timeout. */
    public boolean awaitReady(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        ConnectivityState state = channel.getState(true);
        while (state != ConnectivityState.READY) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            if (state == ConnectivityState.TRANSIENT_FAILURE || state == ConnectivityState.IDLE) {
                channel.resetConnectBackoff();
                channel.getState(true);
            }
            Thread.sleep(20);
            state = channel.getState(true);
        }
        return true;
    }

    /**
     * Loads and starts the client stack once per JVM (channel, Netty transport, a refused connection to a
     * closed local port) so that a measured first invocation does not pay for class loading.
     */
    public static void warmUp() {
        if (warm) {
            return;
        }
        int closedPort;
        try {
            closedPort = ChildProcess.freeLoopbackPort();
        } catch (java.io.IOException e) {
            return;
        }
        try (GreeterClient client = new GreeterClient("127.0.0.1", closedPort)) {
            client.awaitReady(Duration.ofMillis(300));
            try {
                client.sayHello("", Duration.ofMillis(200));
            } catch (VmmException expected) {
                // nothing listens there
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        warm = true;
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
