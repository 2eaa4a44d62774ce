"""Run by the hot-reload tests as a separate process: polls one runtime setting until it has a value.

usage: python watch_setting.py KEY EXPECTED_REPR
Prints ``ready <value>`` once set up, then ``seen <unix time>`` when the value appears.
"""

import sys
import time

import django

django.setup()

from core import config  # noqa: E402

key, expected = sys.argv[1], sys.argv[2]
print("ready", repr(config.get(key)), flush=True)
deadline = time.time() + 30
while time.time() < deadline:
    if repr(config.get(key)) == expected:
        print("seen", time.time(), flush=True)
        sys.exit(0)
    time.sleep(0.02)
print("timeout", repr(config.get(key)), flush=True)
sys.exit(1)
