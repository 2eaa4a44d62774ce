"""python -m linesim.line --port 8081 --webhook-url http://127.0.0.1:8000/line/webhook"""

from linesim.line.config import parse_args
from linesim.line.server import serve_forever

if __name__ == "__main__":
    serve_forever(parse_args())
