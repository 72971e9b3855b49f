/** Invoking the function images' {@code fibonacci.Greeter/SayHello} with grpc-java, without protoc. */
package dev.sabre.vmm.grpc;
