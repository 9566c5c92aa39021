"""When sources are polled: the polling policy (pure arithmetic), cron expressions, one crawl pass
in this process, and the `newsmon run` service that keeps every source on its schedule.
"""
