"""The engine: decode on threads, predict in batches, append rows (every command's)."""
