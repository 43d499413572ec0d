"""Generated pictures for the demo catalogue: no downloads, the same picture every run."""
import hashlib

from PIL import Image, ImageDraw, ImageFont

#: category code -> (background, accent) colours.
PALETTE = {
    "kopi": ((92, 58, 33), (196, 150, 96)),
    "teh-herbal": ((46, 102, 52), (170, 208, 120)),
    "camilan": ((178, 98, 32), (246, 204, 120)),
    "pangan-pokok": ((150, 118, 40), (236, 214, 140)),
    "gula-madu": ((170, 104, 10), (250, 200, 80)),
    "rempah": ((120, 48, 30), (226, 140, 90)),
    "olahan-laut": ((20, 88, 120), (120, 200, 220)),
    "olahan-daging": ((130, 30, 36), (230, 130, 120)),
    "tenun": ((60, 24, 70), (226, 96, 60)),
    "kerajinan": ((96, 80, 56), (214, 190, 140)),
}
VILLAGE_COLOURS = ((24, 90, 80), (230, 200, 120))


def _font(size):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow built without FreeType
        return ImageFont.load_default()


def _wrap(text, width):
    lines, line = [], ""
    for word in text.split():
        if len(line) + len(word) + 1 > width and line:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return lines[:3]


def picture(title, subtitle, colours, seed, pattern="dots"):
    """An 800x800 card: a woven-looking pattern, the name and where it comes from."""
    background, accent = colours
    size = 800
    image = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(image)
    digest = hashlib.sha256(seed.encode()).digest()
    step = 80 + digest[0] % 40
    if pattern == "ikat":
        for row, y in enumerate(range(0, size, step)):
            for x in range(-step, size, step):
                shift = step // 2 if row % 2 else 0
                cx, cy, r = x + shift, y + step // 2, step // 2 - 6
                draw.polygon([(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)], outline=accent, width=5)
                draw.polygon([(cx, cy - r // 3), (cx + r // 3, cy), (cx, cy + r // 3), (cx - r // 3, cy)], fill=accent)
    else:
        for i in range(0, 40):
            b = digest[i % len(digest)]
            x = (b * 37 + i * 97) % size
            y = (b * 53 + i * 61) % size
            r = 20 + b % 50
            draw.ellipse([x - r, y - r, x + r, y + r], outline=accent, width=4)
    draw.rectangle([0, size - 250, size, size], fill=(250, 247, 240))
    y = size - 230
    for line in _wrap(title, 26):
        draw.text((40, y), line, fill=(30, 30, 30), font=_font(48))
        y += 58
    draw.text((40, size - 56), subtitle, fill=(90, 70, 50), font=_font(30))
    return image


def product_picture(product_name, village_name, category_code):
    colours = PALETTE.get(category_code, VILLAGE_COLOURS)
    pattern = "ikat" if category_code in ("tenun", "kerajinan") else "dots"
    return picture(product_name, village_name, colours, product_name, pattern)


def village_picture(village_name, regency_name):
    return picture(village_name, regency_name, VILLAGE_COLOURS, village_name, "ikat")
