"""A local double of Azure OpenAI and OpenAI chat completions.

Start it with ``python -m linesim.llm --port 8082``; in tests use
:func:`linesim.llm.testing.running_llm_double`.  What it answers is described in
:mod:`linesim.llm.replies`, its faults in :mod:`linesim.llm.faults`.
"""
