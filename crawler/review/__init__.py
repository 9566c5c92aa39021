"""What analysts read: exports (JSONL, CSV), topic measurements on labelled articles, and the
web app (`newsmon serve`).
"""
