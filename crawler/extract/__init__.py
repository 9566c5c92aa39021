"""From a downloaded page to clean text and metadata: trafilatura's extraction, its result, and
the pool of worker processes it runs in.
"""
