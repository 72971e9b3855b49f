"""model_training (FunctionBench): fit a TF-IDF vectorizer and a logistic regression on review texts
and serialize the model. The dataset is n synthetic labelled reviews (default n = 2000) generated
deterministically in place of the benchmark's S3 download."""
import pickle
import random

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

import sabre_greeter

GOOD = "great excellent love perfect wonderful happy recommend best fantastic amazing".split()
BAD = "terrible awful hate broken worst poor disappointing useless refund bad".split()
NEUTRAL = ("the a product item it this was is and with for delivery box price quality color size "
           "after days weeks use used bought ordered arrived works").split()


def dataset(n):
    rng = random.Random(7)
    texts, labels = [], []
    for i in range(n):
        label = i % 2
        words = rng.choices(NEUTRAL, k=12) + rng.choices(GOOD if label else BAD, k=3)
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


def say_hello(name):
    n = sabre_greeter.int_arg(name, 2000)
    texts, labels = dataset(n)
    vectorizer = TfidfVectorizer().fit(texts)
    model = LogisticRegression().fit(vectorizer.transform(texts), labels)
    blob = pickle.dumps((vectorizer, model))
    with open("/tmp/lr_model.pk", "wb") as f:
        f.write(blob)
    score = model.score(vectorizer.transform(texts), labels)
    return "fn: model_training | n: %d accuracy: %.3f model: %d bytes | runtime: python" % (n, score, len(blob))


if __name__ == "__main__":
    sabre_greeter.serve(say_hello, "model_training")
