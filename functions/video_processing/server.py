"""video_processing (FunctionBench video_processing, vSwarm video-processing): decode a video with
OpenCV, turn every frame to gray scale and encode the frames again into an XVID (MPEG-4 part 2) AVI,
as the originals do. The input is a deterministic synthetic clip of n frames (default n = 50,
480 x 360 at 20 frames/s: 2.5 s) with moving shapes, encoded once per size into /tmp (the default one
at start-up, so it is in the snapshot), in place of the originals' video download."""
import os

import cv2
import numpy as np

import sabre_greeter

TMP = "/tmp/"
DEFAULT_FRAMES = 50
WIDTH, HEIGHT, FPS = 480, 360, 20.0
FOURCC = cv2.VideoWriter_fourcc(*"XVID")


def make_input(frames):
    path = TMP + "video-%d.avi" % frames
    if not os.path.exists(path):
        tmp = TMP + "video-%d.tmp.avi" % frames
        out = cv2.VideoWriter(tmp, FOURCC, FPS, (WIDTH, HEIGHT))
        if not out.isOpened():
            raise RuntimeError("OpenCV cannot encode XVID into " + tmp)
        ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH]
        for i in range(frames):
            frame = np.empty((HEIGHT, WIDTH, 3), dtype=np.uint8)
            frame[..., 0] = (xs + 4 * i) % 256
            frame[..., 1] = (ys + 2 * i) % 256
            frame[..., 2] = (xs + ys + 6 * i) % 256
            cx = (40 + 7 * i) % WIDTH
            cv2.circle(frame, (cx, HEIGHT // 2), 50, (255, 255, 255), -1)
            cv2.rectangle(frame, (WIDTH - cx - 30, 40), (WIDTH - cx + 30, 100), (0, 0, 0), -1)
            out.write(frame)
        out.release()
        os.rename(tmp, path)
    return path


def to_grayscale(source, target):
    video = cv2.VideoCapture(source)
    if not video.isOpened():
        raise RuntimeError("OpenCV cannot open " + source)
    width, height = int(video.get(cv2.CAP_PROP_FRAME_WIDTH)), int(video.get(cv2.CAP_PROP_FRAME_HEIGHT))
    out = cv2.VideoWriter(target, FOURCC, FPS, (width, height), isColor=False)
    frames = 0
    try:
        while True:
            ok, frame = video.read()
            if not ok:
                break
            out.write(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
            frames += 1
    finally:
        video.release()
        out.release()
    return frames, width, height


def say_hello(name):
    n = sabre_greeter.int_arg(name, DEFAULT_FRAMES)
    source = make_input(n)
    target = TMP + "video-gray-%d.avi" % n
    frames, width, height = to_grayscale(source, target)
    return "fn: video_processing | frames: %d size: %dx%d output: %d bytes | runtime: python" % (
        frames, width, height, os.path.getsize(target))


if __name__ == "__main__":
    make_input(DEFAULT_FRAMES)
    sabre_greeter.serve(say_hello, "video_processing")
