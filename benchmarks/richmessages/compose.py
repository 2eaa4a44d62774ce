"""Time to compose one rich-message hero image: a 2500 x 1686 background with a Thai title and body.

    python -m benchmarks.richmessages.compose [--iterations 40] [--json]

Run from the repository root with the project's .venv (benchmarks/richmessages/run.sh does both). The background
is made here (a smooth photo-like picture with fine grain), saved as PNG, as the backgrounds of the bot this
project replaces were, and as JPEG. Each scenario composes it ``--iterations`` times after a warm-up:

- cold: the decoded-background cache emptied before each composition, so the background is decoded each time
  (a template composed for the first time in a process);
- warm: the background decoded once and reused (the same template composed again);
- working copy: composed on the background's working copy (richmessages.backgrounds), as templates uploaded
  since working copies exist are; the cold rows of the original show what composing costs without one.

It prints the machine, the load while it ran, and per scenario the wall time per image (p50, p95, max), the CPU
time per image, and the output size; the goal is at most 150 ms per image. The first composition of a process is
reported apart: it resolves the fonts and builds the Thai dictionary once.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time

GOAL_MS = 150.0
SIZE = (2500, 1686)
TITLE = "สวัสดีตอนเช้า วันใหม่ที่สดใส"
BODY = "วันนี้อากาศดีมากเหมาะสำหรับการออกไปเดินเล่นในสวนสาธารณะกับครอบครัวและเพื่อนๆ ของคุณ อย่าลืมดื่มน้ำให้เพียงพอและพักผ่อนให้เต็มที่นะครับ"
# The areas of the bot this project replaces (its "evening calm" template), as TextArea dicts.
TITLE_AREA = {
    "x": 250,
    "y": 200,
    "width": 1100,
    "height": 300,
    "font_min": 42,
    "font_max": 96,
    "color": "#FFFFFF",
    "line_height": 1.2,
    "overlay_color": "#6A5ACD",
    "overlay_opacity": 0.7,
    "stroke_width": 3,
    "stroke_color": "#2A2050",
    "shadow": True,
}
BODY_AREA = {
    "x": 250,
    "y": 650,
    "width": 1500,
    "height": 600,
    "font_min": 22,
    "font_max": 64,
    "color": "#FFFFFF",
    "line_height": 1.6,
    "overlay_color": "#DDA0DD",
    "overlay_opacity": 0.65,
    "shadow": True,
}


def background(seed: int = 2500) -> object:
    """A photo-like picture: soft colour fields and blurred shapes, with fine grain as a camera leaves."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(seed)
    width, height = SIZE
    ramp = Image.linear_gradient("L")
    image = Image.merge(
        "RGB",
        (
            ramp.resize(SIZE),
            ramp.rotate(90).resize(SIZE),
            ramp.rotate(180).resize(SIZE).point(lambda value: 80 + value // 2),
        ),
    )
    shapes = ImageDraw.Draw(image)
    for _ in range(60):
        x, y, radius = rng.randrange(width), rng.randrange(height), rng.randrange(40, 400)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        shapes.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(12))
    grain_size = (width // 2, height // 2)
    grain = Image.frombytes("RGB", grain_size, rng.randbytes(grain_size[0] * grain_size[1] * 3))
    return Image.blend(image, grain.resize(SIZE, Image.Resampling.BILINEAR), 0.08)


def encoded(image, format: str) -> bytes:
    output = io.BytesIO()
    image.save(output, format=format, **({"quality": 92} if format == "JPEG" else {}))
    return output.getvalue()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(compose, clear_cache, data: bytes, *, iterations: int, cold: bool, areas, working_copy=False) -> dict:
    walls, cpus = [], []
    result = None
    for _ in range(iterations):
        if cold:
            clear_cache()
        wall, cpu = time.perf_counter(), time.process_time()
        result = compose(
            background=data,
            working_copy=working_copy,
            title_area=areas[0],
            body_area=areas[1],
            title=TITLE,
            body=BODY,
        )
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return {
        "iterations": iterations,
        "p50_ms": round(statistics.median(walls), 1),
        "p95_ms": round(percentile(walls, 0.95), 1),
        "max_ms": round(max(walls), 1),
        "cpu_ms": round(statistics.mean(cpus), 1),
        "bytes": len(result.data),
        "size": f"{result.width}x{result.height}",
        "truncated": result.truncated,
    }


def machine() -> dict:
    model = "unknown"
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        model = next(line.split(":", 1)[1].strip() for line in lscpu.splitlines() if line.startswith("Model name"))
    except (OSError, StopIteration, subprocess.SubprocessError):
        pass
    from PIL import __version__ as pillow

    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "pillow": pillow,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def run(iterations: int) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linebot_project.settings.local")
    django.setup()
    from richmessages.composer import background_cache, compose, working_copy
    from richmessages.layout import TextArea

    areas = (
        TextArea.from_dict(TITLE_AREA, field="title_area", image_size=SIZE),
        TextArea.from_dict(BODY_AREA, field="body_area", image_size=SIZE),
    )
    picture = background()
    inputs = {"PNG": encoded(picture, "PNG"), "JPEG": encoded(picture, "JPEG")}
    load_before = os.getloadavg()[0]

    start, start_cpu = time.perf_counter(), time.process_time()
    compose(background=inputs["PNG"], title_area=areas[0], body_area=areas[1], title=TITLE, body=BODY)
    first_ms, first_cpu_ms = (time.perf_counter() - start) * 1000, (time.process_time() - start_cpu) * 1000
    scenarios = {}
    runs = [
        (f"{format} {'cold' if cold else 'warm'}", data, cold, False)
        for format, data in inputs.items()
        for cold in (True, False)
    ]
    # Interleaved with the rows above in one run, so that both see the same load.
    runs.insert(1, ("PNG cold, working copy", working_copy(inputs["PNG"]), True, True))
    runs.insert(4, ("JPEG cold, working copy", working_copy(inputs["JPEG"]), True, True))
    for name, data, cold, is_copy in runs:
        options = {"cold": cold, "areas": areas, "working_copy": is_copy}
        measure(compose, background_cache.clear, data, iterations=3, **options)  # warm-up
        scenarios[name] = measure(compose, background_cache.clear, data, iterations=iterations, **options)
        scenarios[name]["input_bytes"] = len(data)
    return {
        "machine": machine(),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "first_composition_ms": round(first_ms, 1),
        "first_composition_cpu_ms": round(first_cpu_ms, 1),
        "goal_ms": GOAL_MS,
        "scenarios": scenarios,
    }


def report(result: dict) -> str:
    machine = result["machine"]
    lines = [
        f"{machine['date']}  {machine['cpu']}, {machine['cores']} cores, Python {machine['python']}, "
        f"Pillow {machine['pillow']}, load average {result['load_average'][0]} -> {result['load_average'][1]}",
        f"first composition of the process: {result['first_composition_ms']} ms, "
        f"{result['first_composition_cpu_ms']} ms CPU (fonts, Thai dictionary)",
        "",
        "| Background | p50 | p95 | max | CPU per image | output |",
        "|---|---|---|---|---|---|",
    ]
    for name, figures in result["scenarios"].items():
        lines.append(
            f"| {name} ({figures['input_bytes'] // 1024} KiB) | {figures['p50_ms']} ms | {figures['p95_ms']} ms "
            f"| {figures['max_ms']} ms | {figures['cpu_ms']} ms | {figures['size']}, {figures['bytes'] // 1024} KiB |"
        )
    worst = max(figures["p95_ms"] for figures in result["scenarios"].values())
    verdict = "met" if worst <= result["goal_ms"] else "NOT met"
    lines.append("")
    lines.append(f"goal: at most {result['goal_ms']:g} ms per image; worst p95 {worst} ms: {verdict}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    result = run(args.iterations)
    print(json.dumps(result, indent=2) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
