"""scripts/run.sh refuses to start over ports another run (or anything else) holds, before touching anything."""

import os
import socket
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_it_names_the_port_in_use_and_starts_nothing(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        marker = ROOT / "var" / "prometheus" / f"kept-{port}"
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("another run's metrics")
        try:
            result = subprocess.run(
                ["bash", "scripts/run.sh"],
                cwd=ROOT,
                env={**os.environ, "PORT": str(port)},
                capture_output=True,
                text=True,
                timeout=60,
            )
            kept = marker.exists()
        finally:
            marker.unlink(missing_ok=True)

    assert result.returncode == 1
    assert f"already in use: 127.0.0.1:{port}" in result.stderr
    assert "another ./scripts/run.sh" in result.stderr
    assert "==> migrating" not in result.stdout and "started" not in result.stdout
    # The metrics directory of the run holding the port is left alone.
    assert kept
