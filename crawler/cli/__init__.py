"""The `newsmon` command line: the click group, where errors become exit codes, and one module
per command family. A thin layer: each command opens what it needs and calls one function.
"""
