"""Sharing datasets through the Hugging Face Hub: the dataset card, pushing resumably, and plain error lines."""
