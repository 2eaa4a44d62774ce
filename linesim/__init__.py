"""Local doubles of the outside systems (LINE Platform, Azure OpenAI) for development and tests.

Never installed or imported under production settings.
"""
