"""`spe cluster-score`: the driver that chunks an archive, the Ray workers that score."""
