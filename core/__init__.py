import sys

# structlog imports its Twisted integration whenever Twisted is installed (daphne brings it in):
# about 50 ms of every process start-up for a module nothing here uses. A None entry makes that
# optional import fail the way it does without Twisted.
sys.modules.setdefault("structlog.twisted", None)
