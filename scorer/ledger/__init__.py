"""The scores CSV as the ledger: format, touched files, known keys, journal, partitions."""
