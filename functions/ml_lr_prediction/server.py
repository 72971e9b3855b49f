"""ml_lr_prediction (FunctionBench model_serving/ml_lr_prediction): read a reviews dataset, clean the
texts, fit a TF-IDF vectorizer on them, load a pickled logistic-regression model and predict the
sentiment of one input review, all per request, as the original does.

The dataset is n synthetic labelled reviews (default n = 10000) and the model is a logistic regression
trained on its TF-IDF features; both are generated deterministically in /tmp once per size (the default
one at start-up, so they are in the snapshot), in place of the original's S3 downloads (its model was
trained by model_training). A first request of another size builds that size's dataset and model first.
A request whose name is not a positive integer is itself the review to classify."""
import csv
import os
import pickle
import random
import re

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

import sabre_greeter

TMP = "/tmp/"
DEFAULT_REVIEWS = 10000
INPUT = "The delivery was late but the coffee tastes great and I would recommend it"
GOOD = "great excellent love perfect wonderful happy recommend best fantastic amazing tasty fresh".split()
BAD = "terrible awful hate broken worst poor disappointing useless refund bad stale bland".split()
NEUTRAL = ("the a product item it this was is and with for delivery box price quality color size "
           "after days weeks use used bought ordered arrived works coffee tea taste flavor bag").split()
CLEANUP = re.compile("[^a-z]+")


def cleanup(sentence):
    return CLEANUP.sub(" ", sentence.lower()).strip()


def min_df(n):
    """The original's min_df=100, scaled down for small datasets so that terms remain."""
    return max(1, min(100, n // 100))


def paths(n):
    return TMP + "reviews-%d.csv" % n, TMP + "lr_model-%d.pk" % n


def read_reviews(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["Text"] for r in rows], [int(r["Score"]) for r in rows]


def make_inputs(n):
    """Writes the n-review dataset and the model trained on it, each under a temporary name first."""
    dataset, model_path = paths(n)
    if not os.path.exists(dataset):
        rng = random.Random(n)
        tmp = dataset + ".tmp"
        with open(tmp, "w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["Id", "Score", "Text"])
            for i in range(n):
                label = i % 2
                words = rng.choices(NEUTRAL, k=14) + rng.choices(GOOD if label else BAD, k=3)
                rng.shuffle(words)
                words[0] = words[0].capitalize()
                out.writerow([i, label, " ".join(words) + rng.choice([".", "!", "!!", "..."])])
        os.rename(tmp, dataset)
    if not os.path.exists(model_path):
        texts, labels = read_reviews(dataset)
        train = [cleanup(t) for t in texts]
        vectorizer = TfidfVectorizer(min_df=min_df(n)).fit(train)
        model = LogisticRegression().fit(vectorizer.transform(train), labels)
        tmp = model_path + ".tmp"
        with open(tmp, "wb") as f:
            pickle.dump(model, f)
        os.rename(tmp, model_path)
    return dataset, model_path


def predict(n, review):
    dataset, model_path = make_inputs(n)
    texts, _ = read_reviews(dataset)
    train = [cleanup(t) for t in texts]
    vectorizer = TfidfVectorizer(min_df=min_df(n)).fit(train)
    x = vectorizer.transform([cleanup(review)])
    with open(model_path, "rb") as f:
        model = pickle.load(f)
    return len(vectorizer.vocabulary_), int(model.predict(x)[0])


def say_hello(name):
    n = sabre_greeter.int_arg(name, DEFAULT_REVIEWS)
    review = INPUT if sabre_greeter.int_arg(name, 0) else (name.strip() or INPUT)
    features, label = predict(n, review)
    return "fn: ml_lr_prediction | reviews: %d features: %d prediction: %s | runtime: python" % (
        n, features, "positive" if label else "negative")


if __name__ == "__main__":
    make_inputs(DEFAULT_REVIEWS)
    sabre_greeter.serve(say_hello, "ml_lr_prediction")
