"""Photos: find them, read their headers, decode them within the memory budget, crop."""
