"""The configuration directory (settings.yaml, sources.yaml, topics.yaml): read, checked and edited
here only. Everything downstream receives typed objects, never YAML.
"""
