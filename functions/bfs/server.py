"""bfs (SeBS graph-bfs, vSwarm graph-bfs): generate a Barabasi-Albert graph of n vertices (default
n = 10000, 10 edges per vertex) and traverse it breadth-first from vertex 0. The graph is generated per
request, as pagerank does, with igraph drawing from a generator seeded with n, so every request of one
size walks the same graph and the reply is deterministic."""
import random

import igraph

import sabre_greeter


def say_hello(name):
    n = sabre_greeter.int_arg(name, 10000)
    igraph.set_random_number_generator(random.Random(n))
    graph = igraph.Graph.Barabasi(n, 10)
    order, layers, parents = graph.bfs(0)
    return "fn: bfs | n: %d visited: %d depth: %d last: %d | runtime: python" % (
        n, len(order), len(layers) - 1, order[-1])


if __name__ == "__main__":
    sabre_greeter.serve(say_hello, "bfs")
