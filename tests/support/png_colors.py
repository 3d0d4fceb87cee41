#!/usr/bin/python3
"""How many pixels of a screenshot are (nearly) each given colour: png_colors.py FILE.png '#2563eb' '#16a34a' ...
Prints one JSON object, colour -> count, and the image's size. Anti-aliased edges differ a little from the fill,
so a pixel within 12 of each channel counts."""
import json
import sys

from PIL import Image


def main():
    image = Image.open(sys.argv[1]).convert("RGB")
    wanted = {c: tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in sys.argv[2:]}
    counts = {c: 0 for c in wanted}
    for n, pixel in image.getcolors(maxcolors=1 << 24):
        for name, rgb in wanted.items():
            if all(abs(a - b) <= 12 for a, b in zip(pixel, rgb)):
                counts[name] += n
    print(json.dumps({"size": image.size, "counts": counts}))


if __name__ == "__main__":
    main()
