"""What makes two exceptions "the same error": their type and where in our code they were raised.

The fingerprint is the exception's class and the innermost frames of the project's own code
(``module:function``, innermost first), without line numbers, so an edit elsewhere in a file
keeps its errors in one group and the same failure from any process lands in the same group.
Frames of libraries are left out: a ``KeyError`` deep inside Django is told apart by the view
of ours that called it.  When no frame is ours (an error inside a library's own thread), the
innermost library frames stand in.
"""

from __future__ import annotations

import hashlib
import os
import sysconfig
import traceback
from dataclasses import dataclass

from django.conf import settings

FRAMES = 3
_LIBRARY_DIRS = tuple(
    {os.path.realpath(path) + os.sep for path in (sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"])}
)


@dataclass(frozen=True)
class Fingerprint:
    digest: str
    exception_type: str
    # The frames it was made of, innermost first: "conversations.processing:webhook_event_process < ...".
    location: str


def exception_type_name(exc: BaseException) -> str:
    cls = type(exc)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def _is_ours(filename: str) -> bool:
    path = os.path.realpath(filename)
    root = os.path.realpath(settings.BASE_DIR) + os.sep
    return path.startswith(root) and not path.startswith(_LIBRARY_DIRS) and f"{os.sep}.venv{os.sep}" not in path


def _frame_name(frame) -> str:
    module = frame.f_globals.get("__name__") or os.path.splitext(os.path.basename(frame.f_code.co_filename))[0]
    return f"{module}:{frame.f_code.co_qualname}"


def fingerprint_of(exc: BaseException) -> Fingerprint:
    frames = [frame for frame, _ in traceback.walk_tb(exc.__traceback__)]
    ours = [frame for frame in frames if _is_ours(frame.f_code.co_filename)]
    chosen = (ours or frames)[-FRAMES:]
    location = " < ".join(_frame_name(frame) for frame in reversed(chosen))
    exception_type = exception_type_name(exc)
    digest = hashlib.sha256(f"{exception_type}\n{location}".encode()).hexdigest()
    return Fingerprint(digest=digest, exception_type=exception_type, location=location)
