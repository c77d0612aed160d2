"""What every part of the scorer shares: errors, settings, text, own files, children."""
