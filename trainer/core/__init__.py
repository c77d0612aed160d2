"""What every part of the trainer shares: the recipe (its defaults), metrics, errors."""
