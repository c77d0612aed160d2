"""A person's photos and likes: the three layouts, the synthetic set, augmentation, trend."""
