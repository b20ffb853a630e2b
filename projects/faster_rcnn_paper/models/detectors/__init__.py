from .paper_faster_rcnn import PaperFasterRCNN

__all__ = ['PaperFasterRCNN']
