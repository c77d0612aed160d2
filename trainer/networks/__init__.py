"""Keras networks: from nothing, pretrained backbones and their weights, the ridge head."""
