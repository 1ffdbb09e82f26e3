"""Data stage: LiTS reader, built-in phantom, slice store and train/test split."""
