"""Faster R-CNN (Ren, He, Girshick, Sun; arXiv:1506.01497) as an MMDetection 3.x plugin."""
