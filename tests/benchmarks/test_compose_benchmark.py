"""benchmarks/richmessages/compose.py: timing the composition of a hero image and reporting it."""

from benchmarks.richmessages import compose as benchmark
from richmessages.composer import background_cache, compose
from richmessages.layout import TextArea


def test_it_measures_wall_and_cpu_time_per_image():
    areas = (
        TextArea.from_dict(benchmark.TITLE_AREA, field="title_area", image_size=benchmark.SIZE),
        TextArea.from_dict(benchmark.BODY_AREA, field="body_area", image_size=benchmark.SIZE),
    )
    data = benchmark.encoded(benchmark.background(), "JPEG")

    figures = benchmark.measure(compose, background_cache.clear, data, iterations=2, cold=True, areas=areas)

    assert figures["iterations"] == 2
    assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["max_ms"]
    assert figures["cpu_ms"] > 0
    assert figures["size"] == "1024x691"
    assert figures["truncated"] is False


def test_it_takes_the_nearest_rank_percentile():
    values = [float(value) for value in range(1, 101)]

    assert benchmark.percentile(values, 0.95) == 95.0
    assert benchmark.percentile([3.0], 0.95) == 3.0


def test_it_says_whether_the_goal_was_met():
    figures = {"p50_ms": 40.0, "p95_ms": 60.0, "max_ms": 70.0, "cpu_ms": 20.0, "bytes": 150_000, "size": "1024x691"}
    result = {
        "machine": {"date": "2026-11-30", "cpu": "CPU", "cores": 2, "python": "3.11", "pillow": "13.0.0"},
        "load_average": [1.0, 1.2],
        "first_composition_ms": 900.0,
        "first_composition_cpu_ms": 800.0,
        "goal_ms": 150.0,
        "scenarios": {"JPEG cold": {**figures, "input_bytes": 700_000}},
    }

    assert "worst p95 60.0 ms: met" in benchmark.report(result)
    result["scenarios"]["PNG cold"] = {**figures, "p95_ms": 180.0, "input_bytes": 5_000_000}
    assert "worst p95 180.0 ms: NOT met" in benchmark.report(result)
