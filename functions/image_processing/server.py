"""image_processing (FunctionBench): load an image and apply flip, rotate, filter, gray-scale and
resize, saving each result. The input is a deterministic synthetic photo-sized image (default 640 px
wide, or the request's number) written to /tmp at start-up, in place of the benchmark's S3 download."""
import os

from PIL import Image, ImageDraw, ImageFilter

import sabre_greeter

TMP = "/tmp/"


def make_input(width):
    path = TMP + "input-%d.jpg" % width
    if not os.path.exists(path):
        height = width * 3 // 4
        img = Image.new("RGB", (width, height))
        draw = ImageDraw.Draw(img)
        for i in range(0, width, 8):
            draw.line([(i, 0), (width - i, height)], fill=(i % 256, (3 * i) % 256, (7 * i) % 256), width=5)
        draw.ellipse([width // 4, height // 4, 3 * width // 4, 3 * height // 4], outline=(255, 255, 0), width=9)
        img.save(path, quality=90)
    return path


def process(path):
    out = []
    with Image.open(path) as image:
        for name, result in (
                ("flip-left-right", image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
                ("flip-top-bottom", image.transpose(Image.Transpose.FLIP_TOP_BOTTOM)),
                ("rotate-90", image.transpose(Image.Transpose.ROTATE_90)),
                ("rotate-180", image.transpose(Image.Transpose.ROTATE_180)),
                ("rotate-270", image.transpose(Image.Transpose.ROTATE_270)),
                ("blur", image.filter(ImageFilter.BLUR)),
                ("contour", image.filter(ImageFilter.CONTOUR)),
                ("sharpen", image.filter(ImageFilter.SHARPEN)),
                ("gray-scale", image.convert("L")),
                ("resize", image.resize((128, 128)))):
            target = TMP + name + "-" + os.path.basename(path)
            result.save(target)
            out.append(target)
    return out


def say_hello(name):
    width = sabre_greeter.int_arg(name, 640)
    path = make_input(width)
    outputs = process(path)
    return "fn: image_processing | width: %d outputs: %d | runtime: python" % (width, len(outputs))


if __name__ == "__main__":
    make_input(640)
    sabre_greeter.serve(say_hello, "image_processing")
