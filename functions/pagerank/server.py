"""pagerank (SeBS graph-pagerank): generate a Barabasi-Albert graph of n vertices (default n = 10000,
10 edges per vertex) and compute its PageRank."""
import igraph

import sabre_greeter


def say_hello(name):
    n = sabre_greeter.int_arg(name, 10000)
    graph = igraph.Graph.Barabasi(n, 10)
    ranks = graph.pagerank()
    top = max(range(n), key=lambda v: ranks[v])
    return "fn: pagerank | n: %d top: %d rank: %.6f | runtime: python" % (n, top, ranks[top])


if __name__ == "__main__":
    sabre_greeter.serve(say_hello, "pagerank")
