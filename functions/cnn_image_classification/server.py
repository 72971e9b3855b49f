"""cnn_image_classification (FunctionBench model_serving/cnn_image_classification): per request, build
SqueezeNet and load its weights file, load n images (default n = 1) resized to 224 x 224, normalise them
as ImageNet models expect, run the network and decode the top-5 ImageNet classes, as the original does
(it uses Keras' SqueezeNet at 227 px; this uses torchvision's SqueezeNet 1.1, its PyTorch equivalent).

No trained weights can be downloaded here, so the weights are initialised deterministically (seed 0)
and saved once to /tmp at start-up, then loaded from there per request as the original loads its model
file: the compute per request is the same as with trained weights, the predicted classes are not. The
input is a deterministic synthetic photo-sized image written to /tmp at start-up, in place of the
original's S3 download."""
import os

import torch
import torchvision
from PIL import Image, ImageDraw
from torchvision import transforms

import sabre_greeter

TMP = "/tmp/"
WEIGHTS = TMP + "squeezenet1_1.pth"
IMAGE = TMP + "cnn-input.jpg"
CATEGORIES = torchvision.models.SqueezeNet1_1_Weights.IMAGENET1K_V1.meta["categories"]
PREPROCESS = transforms.Compose([
    transforms.Resize(256),
    transforms.CenterCrop(224),
    transforms.ToTensor(),
    transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
])

torch.set_num_threads(1)


def make_inputs():
    if not os.path.exists(WEIGHTS):
        torch.manual_seed(0)
        tmp = WEIGHTS + ".tmp"
        torch.save(torchvision.models.squeezenet1_1(weights=None).state_dict(), tmp)
        os.rename(tmp, WEIGHTS)
    if not os.path.exists(IMAGE):
        width, height = 640, 480
        img = Image.new("RGB", (width, height), (40, 90, 160))
        draw = ImageDraw.Draw(img)
        for i in range(0, width, 8):
            draw.line([(i, 0), (width - i, height)], fill=(i % 256, (3 * i) % 256, (7 * i) % 256), width=5)
        draw.ellipse([width // 4, height // 4, 3 * width // 4, 3 * height // 4], fill=(230, 200, 40))
        img.save(IMAGE + ".tmp.jpg", quality=90)
        os.rename(IMAGE + ".tmp.jpg", IMAGE)


def predict(n):
    model = torchvision.models.squeezenet1_1(weights=None)
    model.load_state_dict(torch.load(WEIGHTS))
    model.eval()
    with Image.open(IMAGE) as img:
        batch = torch.stack([PREPROCESS(img.convert("RGB")) for _ in range(n)])
    with torch.no_grad():
        probabilities = torch.nn.functional.softmax(model(batch), dim=1)
    top = torch.topk(probabilities[0], 5)
    return [(CATEGORIES[int(i)], float(p)) for p, i in zip(top.values, top.indices)]


def say_hello(name):
    n = sabre_greeter.int_arg(name, 1)
    top5 = predict(n)
    return "fn: cnn_image_classification | images: %d | top-5: %s | runtime: python" % (
        n, ", ".join("%s %.4f" % (c, p) for c, p in top5))


if __name__ == "__main__":
    make_inputs()
    sabre_greeter.serve(say_hello, "cnn_image_classification")
