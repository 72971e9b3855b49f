"""rnn_serving (vSwarm rnn-serving, FunctionBench rnn_generate_character_level): a character-level RNN,
the PyTorch tutorial's name generator the originals serve, generates n names (default n = 3) in a
language (French, the originals' default), one letter at a time from a start letter, up to 20 letters.

No trained weights can be downloaded here, so the weights are initialised deterministically (seed 0),
saved once to /tmp and loaded at start-up as the originals load their model file: the compute per
request is the same as with trained weights, the names are not. The start letters are drawn from a
generator seeded with n, so the reply to a given n is always the same."""
import os
import random
import string

import torch
import torch.nn as nn

import sabre_greeter

MODEL = "/tmp/rnn_model.pth"
CATEGORIES = ["French", "Czech", "Dutch", "Polish", "Scottish", "Chinese", "English", "Italian", "Portuguese",
              "Japanese", "German", "Russian", "Korean", "Arabic", "Greek", "Vietnamese", "Spanish", "Irish"]
LETTERS = string.ascii_letters + " .,;'-"
N_LETTERS = len(LETTERS) + 1  # the last output is end-of-name
HIDDEN = 128
MAX_LENGTH = 20
LANGUAGE = "French"

torch.set_num_threads(1)


class RNN(nn.Module):
    def __init__(self):
        super().__init__()
        inputs = len(CATEGORIES) + N_LETTERS + HIDDEN
        self.i2h = nn.Linear(inputs, HIDDEN)
        self.i2o = nn.Linear(inputs, N_LETTERS)
        self.o2o = nn.Linear(HIDDEN + N_LETTERS, N_LETTERS)
        self.dropout = nn.Dropout(0.1)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, category, letter, hidden):
        combined = torch.cat((category, letter, hidden), 1)
        hidden = self.i2h(combined)
        output = self.o2o(torch.cat((hidden, self.i2o(combined)), 1))
        return self.softmax(self.dropout(output)), hidden

    @staticmethod
    def one_hot(index, size):
        tensor = torch.zeros(1, size)
        tensor[0][index] = 1
        return tensor

    def sample(self, category, start_letter):
        with torch.no_grad():
            category_tensor = self.one_hot(CATEGORIES.index(category), len(CATEGORIES))
            letter = self.one_hot(LETTERS.find(start_letter), N_LETTERS)
            hidden = torch.zeros(1, HIDDEN)
            name = start_letter
            for _ in range(MAX_LENGTH):
                output, hidden = self.forward(category_tensor, letter, hidden)
                top = int(output.topk(1)[1][0][0])
                if top == N_LETTERS - 1:
                    break
                name += LETTERS[top]
                letter = self.one_hot(top, N_LETTERS)
            return name


def load_model():
    if not os.path.exists(MODEL):
        torch.manual_seed(0)
        tmp = MODEL + ".tmp"
        torch.save(RNN().state_dict(), tmp)
        os.rename(tmp, MODEL)
    model = RNN()
    model.load_state_dict(torch.load(MODEL))
    model.eval()
    return model


rnn_model = load_model()


def say_hello(name):
    n = sabre_greeter.int_arg(name, 3)
    start_letters = random.Random(n).choices(string.ascii_uppercase, k=n)
    names = [rnn_model.sample(LANGUAGE, letter) for letter in start_letters]
    return "fn: rnn_serving | language: %s n: %d | output: %s | runtime: python" % (LANGUAGE, n, names)


if __name__ == "__main__":
    sabre_greeter.serve(say_hello, "rnn_serving")
