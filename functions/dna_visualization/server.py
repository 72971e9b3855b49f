"""dna_visualization (SeBS 504.dna-visualization, FunctionBench): read a DNA sequence from a FASTA file,
turn it into its 2-D walk (Gates' method, as the original's squiggle library does: A steps down, T up,
G right, C left) and plot the walk to a PNG. squiggle is not packaged in Debian, so the transform is
written here with numpy and the plot drawn with matplotlib. The sequence is n pseudo-random bases
(default n = 100000) written to /tmp once per size (the default one at start-up, so it is in the
snapshot), in place of the original's genome download."""
import os
import random

os.environ.setdefault("MPLCONFIGDIR", "/tmp/matplotlib")  # the root file system is read-only

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import sabre_greeter  # noqa: E402

TMP = "/tmp/"
DEFAULT_BASES = 100000
LINE = 70
STEPS = {"A": (0, -1), "T": (0, 1), "G": (1, 0), "C": (-1, 0)}


def make_input(n):
    path = TMP + "sequence-%d.fasta" % n
    if not os.path.exists(path):
        rng = random.Random(n)
        bases = "".join(rng.choices("ACGT", k=n))
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(">synthetic sequence of %d bases\n" % n)
            for i in range(0, n, LINE):
                f.write(bases[i:i + LINE] + "\n")
        os.rename(tmp, path)
    return path


def read_fasta(path):
    with open(path) as f:
        return "".join(line.strip() for line in f if not line.startswith(">")).upper()


def gates_walk(sequence):
    """x and y of the walk, starting at the origin; letters other than ACGT do not move it."""
    codes = np.frombuffer(sequence.encode("ascii"), dtype=np.uint8)
    dx = np.zeros(len(codes), dtype=np.int64)
    dy = np.zeros(len(codes), dtype=np.int64)
    for base, (sx, sy) in STEPS.items():
        mask = codes == ord(base)
        dx[mask] = sx
        dy[mask] = sy
    x = np.concatenate(([0], np.cumsum(dx)))
    y = np.concatenate(([0], np.cumsum(dy)))
    return x, y


def plot(x, y, target):
    fig, ax = plt.subplots(figsize=(8, 6), dpi=100)
    ax.plot(x, y, linewidth=0.5)
    ax.set_xlabel("C - G")
    ax.set_ylabel("T - A")
    ax.set_title("DNA walk of %d bases" % (len(x) - 1))
    fig.savefig(target)
    plt.close(fig)
    return os.path.getsize(target)


def say_hello(name):
    n = sabre_greeter.int_arg(name, DEFAULT_BASES)
    sequence = read_fasta(make_input(n))
    x, y = gates_walk(sequence)
    png = plot(x, y, TMP + "walk-%d.png" % n)
    return "fn: dna_visualization | bases: %d end: (%d, %d) png: %d bytes | runtime: python" % (
        len(sequence), x[-1], y[-1], png)


if __name__ == "__main__":
    make_input(DEFAULT_BASES)
    sabre_greeter.serve(say_hello, "dna_visualization")
