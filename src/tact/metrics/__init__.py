"""Image-quality and segmentation metrics."""
