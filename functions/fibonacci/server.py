"""fibonacci (vSwarm): iterate the Fibonacci recurrence x times (default x = 10) and reply with fib(x)."""
import sabre_greeter


def fibonacci(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def say_hello(name):
    x = sabre_greeter.int_arg(name, 10)
    y = fibonacci(x)
    return "fn: Fib: y = fib(x) | x: %d y: %.1f | runtime: python" % (x, float(y))


if __name__ == "__main__":
    sabre_greeter.serve(say_hello, "fibonacci")
