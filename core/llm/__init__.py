"""The language model: the one client that talks to it (:mod:`core.llm.client`, with the completion it
reads in :mod:`core.llm.completion` and the failures it maps in :mod:`core.llm.failures`), the web search it may call
as a tool (:mod:`core.llm.search`) and the token estimate (:mod:`core.llm.tokens`)."""
