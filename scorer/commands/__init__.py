"""The commands behind scorer/cli.py: batch-score, rank and its page, settings files."""
