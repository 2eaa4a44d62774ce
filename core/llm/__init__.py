"""The language model: the one client that talks to it (:mod:`core.llm.client`), the web
search it may call as a tool (:mod:`core.llm.search`) and the token estimate (:mod:`core.llm.tokens`)."""
