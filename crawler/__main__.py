"""`python -m crawler` is the `newsmon` command."""

from crawler.cli.main import main

main()
