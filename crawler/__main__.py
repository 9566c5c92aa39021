"""`python -m crawler` is the `newsmon` command."""

from crawler.cli import main

main()
