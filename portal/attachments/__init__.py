"""Attached images, served by their unguessable ids to those who may see them."""
