"""matmul (FunctionBench): multiply two random n x n matrices with numpy (default n = 256)."""
import time

import numpy as np

import sabre_greeter


def matmul(n):
    a = np.random.rand(n, n)
    b = np.random.rand(n, n)
    start = time.time()
    c = np.matmul(a, b)
    return c, time.time() - start


def say_hello(name):
    n = sabre_greeter.int_arg(name, 256)
    c, latency = matmul(n)
    return "fn: matmul | n: %d trace: %.3f latency: %.6f s | runtime: python" % (n, float(np.trace(c)), latency)


if __name__ == "__main__":
    sabre_greeter.serve(say_hello, "matmul")
