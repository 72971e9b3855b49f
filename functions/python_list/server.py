"""python_list: pure-Python list work; build n pseudo-random integers (default n = 100000), sort them,
reverse, filter and sum them."""
import random

import sabre_greeter


def say_hello(name):
    n = sabre_greeter.int_arg(name, 100000)
    rng = random.Random(42)
    values = [rng.randint(0, 1 << 30) for _ in range(n)]
    values.sort()
    values.reverse()
    evens = [v for v in values if v % 2 == 0]
    return "fn: python_list | n: %d max: %d evens: %d sum: %d | runtime: python" % (
        n, values[0], len(evens), sum(values))


if __name__ == "__main__":
    sabre_greeter.serve(say_hello, "python_list")
